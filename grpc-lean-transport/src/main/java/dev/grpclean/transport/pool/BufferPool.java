package dev.grpclean.transport.pool;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import javax.annotation.Nullable;

/**
 * Size-classed pool of {@link ByteBuffer}s with exact, always-on counters.
 *
 * <p>Capacities are powers of two from {@link #MIN_CLASS_BYTES} to {@link #MAX_CLASS_BYTES}; a
 * lease gets the smallest class that fits. Larger requests are allocated at their exact size and
 * never pooled. Released buffers are kept, most recent first.
 *
 * <p>The ceiling, {@code maxPooledBytes}, bounds what the pool owns: its <em>member</em> buffers,
 * leased or kept, not only the kept ones. A buffer allocated while the members fill the ceiling is
 * one-off: it serves one lease and is left for GC on release (or takes the place of a member that
 * left meanwhile). So under a load whose demand swings above the ceiling the pool stays at the
 * ceiling instead of growing to the peak and keeping it until decay; the swings are served by
 * buffers that live for one lease, which a generational GC collects young, and the long-lived
 * buffers (old generation, counted in a process's retained heap) are never more than the ceiling
 * and are not churned. {@link #pooledBytes()} &lt;= {@link #ownedBytes()} &lt;= the ceiling.
 *
 * <p>Misuse detection. Always on, and O(1) per release: the buffer's shape (direct-ness, not
 * read-only, a class capacity) must match this pool; the outstanding counters are decremented with
 * a CAS that refuses to go below zero; and a buffer already on top of its free list is rejected,
 * which catches the common "released twice in a row" bug before the buffer can be leased twice. A
 * double release of an older buffer, or a same-shaped foreign buffer or slice, can slip past these
 * while other leases are outstanding; leak-detection mode (see {@link #LEAK_DETECTION_PROPERTY})
 * tracks every lease by identity and catches all of them, and tests run with it.
 *
 * <p>Giving memory back. With a {@link PoolDecay}, what the pool keeps follows recent demand:
 * buffers that no lease reached for a whole period are dropped, oldest first, down to a floor,
 * checked on lease and release and, while the pool is quiet above its floor, by one delayed task
 * at a time on the decay's scheduler. {@code maxPooledBytes} stays the ceiling.
 *
 * <p>Freeing what it drops. A direct pool built with {@code freeDropped} frees the native memory
 * of every buffer it does not keep (a one-off released, a kept buffer dropped by decay, trim or a
 * suspension) at once (see {@link DirectMemory}) instead of leaving it until a GC reaches the
 * buffer: so its direct memory in use is what is leased plus what is kept, not also what was
 * dropped. Such a pool's leases must not be touched after release, not even through a view.
 * {@link #disown} never frees: a disowned buffer may still be written.
 *
 * <p>Keeping nothing. While a {@link #suspendKeeping()} is held (the transport holds one while a
 * memory budget is at or above half its limit), released buffers are left for GC and the pool
 * holds none: memory the budget does not charge does not pile up beside what it does.
 *
 * <p>Locks: each size class has its own free-list lock and leak-detection mode has one more; none
 * is ever held while taking another.
 *
 * <p>Thread-safe.
 */
public final class BufferPool {
  /** Smallest class, 4 KiB: a page, and small enough for a frame header plus a small message. */
  public static final int MIN_CLASS_BYTES = 4096;
  /** Largest pooled class, 1 MiB: above this a request is rare and pooling it would pin memory. */
  public static final int MAX_CLASS_BYTES = 1 << 20;
  /** System property; {@code true} at construction enables leak-detection mode. */
  public static final String LEAK_DETECTION_PROPERTY = "grpclean.pool.leakDetection";

  private static final int MIN_CLASS_SHIFT = Integer.numberOfTrailingZeros(MIN_CLASS_BYTES);
  private static final int CLASS_COUNT =
      Integer.numberOfTrailingZeros(MAX_CLASS_BYTES) - MIN_CLASS_SHIFT + 1;

  private final String name;
  private final boolean direct;
  private final long maxPooledBytes;
  private final FreeList[] freeLists = new FreeList[CLASS_COUNT];
  /** Null unless leak-detection mode is on. */
  @Nullable private final LeakTracker leakTracker;
  /** Direct and freeing what it drops (see the class javadoc). */
  private final boolean freeDropped;
  private final LongAdder freedBytes = new LongAdder();
  /** Null: the pool keeps up to maxPooledBytes for ever. */
  @Nullable private final PoolDecay decay;
  /** When the next decay check is due, on the decay's clock. */
  private final AtomicLong nextDecayNanos = new AtomicLong();
  /** A delayed decay check is pending on the scheduler. */
  private final AtomicBoolean decayTimerArmed = new AtomicBoolean();
  private final LongAdder decayedBytes = new LongAdder();
  /**
   * Holders of {@link #suspendKeeping()} minus those who ended theirs: while positive, the pool
   * keeps no released buffer. May read -1 for a moment when an end overtakes its begin on
   * another thread; the pool then keeps, as it does at 0.
   */
  private final AtomicInteger keepSuspensions = new AtomicInteger();

  // AtomicLong, not LongAdder, where release must check-and-decrement atomically.
  private final AtomicLong leasedBytes = new AtomicLong();
  private final AtomicLong leasesOutstanding = new AtomicLong();
  private final AtomicLong pooledBytes = new AtomicLong();
  private final AtomicLong ownedBytes = new AtomicLong();
  // Only ever added to, so the cheaper-under-contention LongAdder.
  private final LongAdder totalLeases = new LongAdder();
  private final LongAdder allocatedBytes = new LongAdder();

  /** Leak detection follows {@link #LEAK_DETECTION_PROPERTY} as it is now. */
  public BufferPool(String name, boolean direct, long maxPooledBytes) {
    this(name, direct, maxPooledBytes, Boolean.getBoolean(LEAK_DETECTION_PROPERTY));
  }

  public BufferPool(String name, boolean direct, long maxPooledBytes, boolean leakDetection) {
    this(name, direct, maxPooledBytes, leakDetection, null);
  }

  /** As above; with {@code decay}, kept bytes follow recent demand (see {@link PoolDecay}). */
  public BufferPool(String name, boolean direct, long maxPooledBytes, boolean leakDetection,
      @Nullable PoolDecay decay) {
    this(name, direct, maxPooledBytes, leakDetection, decay, false);
  }

  /**
   * As above; with {@code freeDropped} (direct pools only), the native memory of every buffer the
   * pool does not keep is freed at once (see the class javadoc).
   */
  public BufferPool(String name, boolean direct, long maxPooledBytes, boolean leakDetection,
      @Nullable PoolDecay decay, boolean freeDropped) {
    if (freeDropped && !direct) {
      throw new IllegalArgumentException("only a direct pool can free what it drops");
    }
    this.freeDropped = freeDropped;
    if (maxPooledBytes < 0) {
      throw new IllegalArgumentException("maxPooledBytes < 0: " + maxPooledBytes);
    }
    this.name = Objects.requireNonNull(name, "name");
    this.direct = direct;
    this.maxPooledBytes = maxPooledBytes;
    for (int i = 0; i < CLASS_COUNT; i++) {
      freeLists[i] =
          new FreeList(MIN_CLASS_BYTES << i, pooledBytes, ownedBytes, maxPooledBytes,
              keepSuspensions, freeDropped ? this::free : null);
    }
    this.leakTracker = leakDetection ? new LeakTracker(name) : null;
    this.decay = decay;
    if (decay != null) {
      nextDecayNanos.set(decay.nanoClock.getAsLong() + decay.periodNanos);
    }
  }

  /**
   * Leases a cleared, big-endian buffer of at least {@code minCapacityBytes}. The caller owns it
   * until it passes it to {@link #release}, exactly once.
   */
  public ByteBuffer lease(int minCapacityBytes) {
    if (minCapacityBytes <= 0) {
      throw new IllegalArgumentException("minCapacityBytes <= 0: " + minCapacityBytes);
    }
    ByteBuffer buffer;
    if (minCapacityBytes > MAX_CLASS_BYTES) {
      buffer = allocate(minCapacityBytes);
    } else {
      int classIndex = classIndex(minCapacityBytes);
      buffer = freeLists[classIndex].poll();
      if (buffer == null) {
        buffer = allocate(MIN_CLASS_BYTES << classIndex);
        freeLists[classIndex].adopt(buffer);
      } else {
        // The previous owner may have moved the cursor or switched byte order.
        buffer.clear().order(ByteOrder.BIG_ENDIAN);
      }
    }
    totalLeases.increment();
    // Count before handing out, so a release can never observe its own lease uncounted.
    leasesOutstanding.incrementAndGet();
    leasedBytes.addAndGet(buffer.capacity());
    if (leakTracker != null) {
      leakTracker.recordLease(buffer);
    }
    if (decay != null) {
      decayIfDue();
    }
    return buffer;
  }

  /**
   * Takes ownership of a buffer that this pool leased; the caller must not touch it afterwards.
   *
   * @throws IllegalStateException if the buffer was not leased from this pool or was already
   *     released (always detected in leak-detection mode; see the class javadoc otherwise)
   */
  public void release(ByteBuffer buffer) {
    int capacityBytes = endLease(buffer, "release");
    if (capacityBytes > MAX_CLASS_BYTES) {
      free(buffer); // Oversized: never pooled.
      return;
    }
    boolean kept;
    try {
      kept = freeLists[classIndex(capacityBytes)].offer(buffer);
    } catch (IllegalStateException e) {
      // Undo the decrements: this release never happened.
      leasesOutstanding.incrementAndGet();
      leasedBytes.addAndGet(capacityBytes);
      throw e;
    }
    if (!kept) {
      free(buffer);
    }
    if (decay != null) {
      decayIfDue();
      armDecayTimer();
    }
  }

  /**
   * Runs a decay check if one is due on the decay's clock: drops what no lease reached during
   * the last period, down to the floor. Returns the bytes dropped (0 when none was due, or
   * without a decay).
   */
  public long decayIfDue() {
    if (decay == null) {
      return 0;
    }
    long now = decay.nanoClock.getAsLong();
    long due = nextDecayNanos.get();
    if (now - due < 0 || !nextDecayNanos.compareAndSet(due, now + decay.periodNanos)) {
      return 0; // Not due, or another thread runs this check.
    }
    long dropped = 0;
    // Largest classes first: the floor then keeps the small buffers, which most leases need.
    for (int i = freeLists.length - 1; i >= 0; i--) {
      dropped += freeLists[i].decay(decay.floorBytes);
    }
    decayedBytes.add(dropped);
    return dropped;
  }

  /** While pooled bytes are above the floor, keeps one delayed decay check pending. */
  private void armDecayTimer() {
    if (decay.scheduler == null || pooledBytes.get() <= decay.floorBytes
        || !decayTimerArmed.compareAndSet(false, true)) {
      return;
    }
    long delay = Math.max(0, nextDecayNanos.get() - decay.nanoClock.getAsLong());
    decay.scheduler.schedule(this::onDecayTimer, delay);
  }

  private void onDecayTimer() {
    decayIfDue();
    decayTimerArmed.set(false);
    armDecayTimer();
  }

  /**
   * Ends a lease without taking the buffer back: it stops counting as leased and is left to the
   * garbage collector. For a lease that another thread may still be writing into and that would
   * otherwise never come back (grpc-core's framer keeps a buffer for a message nobody will
   * flush once its stream is gone). Never pooled again, so the late writer cannot corrupt
   * someone else's lease.
   *
   * @throws IllegalStateException as {@link #release} does for a buffer this pool does not lease
   */
  public void disown(ByteBuffer buffer) {
    int capacityBytes = endLease(buffer, "disown");
    if (capacityBytes <= MAX_CLASS_BYTES) {
      freeLists[classIndex(capacityBytes)].forget(buffer);
    }
  }

  /** Stops counting {@code buffer} as leased; returns its capacity. */
  private int endLease(ByteBuffer buffer, String verb) {
    int capacityBytes = buffer.capacity();
    checkShape(buffer, capacityBytes);
    if (leakTracker != null && !leakTracker.recordRelease(buffer)) {
      throw new IllegalStateException(
          "buffer of " + PoolStats.formatBytes(capacityBytes) + " is not leased from pool '"
              + name + "': released twice, or never leased from it");
    }
    if (!tryDecrement(leasesOutstanding, 1)) {
      throw new IllegalStateException("more releases than leases in pool '" + name + "'");
    }
    if (!tryDecrement(leasedBytes, capacityBytes)) {
      leasesOutstanding.incrementAndGet();
      throw new IllegalStateException(
          verb + " of " + PoolStats.formatBytes(capacityBytes) + " exceeds leased bytes in pool '"
              + name + "'");
    }
    return capacityBytes;
  }

  /**
   * Stops keeping released buffers and drops every kept one for GC, until the matching
   * {@link #resumeKeeping()}; suspensions nest (several memory budgets may each hold one). Once
   * this returns, {@link #pooledBytes()} is 0 and stays 0 while any suspension is held: a
   * release racing with this call either sees the suspension or is dropped by the trim that
   * follows it (both under the size class's lock). Leases still work, from fresh allocations.
   * Any thread.
   */
  public void suspendKeeping() {
    keepSuspensions.incrementAndGet();
    trim();
  }

  /** Ends one {@link #suspendKeeping()}: the pool keeps again once none is held. Any thread. */
  public void resumeKeeping() {
    keepSuspensions.decrementAndGet();
  }

  /** Whether a {@link #suspendKeeping()} is held right now (the pool keeps nothing). */
  public boolean isKeepingSuspended() {
    return keepSuspensions.get() > 0;
  }

  /** Drops every pooled buffer for GC; leased buffers are unaffected. */
  public void trim() {
    for (FreeList freeList : freeLists) {
      freeList.trim();
    }
  }

  /** Sum of the capacities of buffers currently leased. */
  public long leasedBytes() {
    return leasedBytes.get();
  }

  /** Number of buffers currently leased. */
  public long leasesOutstanding() {
    return leasesOutstanding.get();
  }

  /** Sum of the capacities of buffers sitting in free lists; never above {@link #ownedBytes}. */
  public long pooledBytes() {
    return pooledBytes.get();
  }

  /**
   * Sum of the capacities of the pool's member buffers, leased or kept: what it takes back on
   * release; never above maxPooledBytes. Leased one-off buffers are in {@link #leasedBytes} only.
   */
  public long ownedBytes() {
    return ownedBytes.get();
  }

  /** Monotonic count of {@link #lease} calls. */
  public long totalLeases() {
    return totalLeases.sum();
  }

  /** Monotonic bytes newly allocated because no pooled buffer of the class was free. */
  public long allocatedBytes() {
    return allocatedBytes.sum();
  }

  /**
   * Monotonic bytes whose native memory this pool freed at once (see the class javadoc); 0
   * unless it frees what it drops.
   */
  public long freedBytes() {
    return freedBytes.sum();
  }

  /** Frees a buffer the pool has let go of, if it frees what it drops. */
  private void free(ByteBuffer buffer) {
    if (freeDropped && DirectMemory.free(buffer)) {
      freedBytes.add(buffer.capacity());
    }
  }

  /** Monotonic bytes dropped by decay (see {@link PoolDecay}); 0 without a decay. */
  public long decayedBytes() {
    return decayedBytes.sum();
  }

  /** The decay, or null when the pool keeps up to its ceiling for ever. */
  @Nullable
  public PoolDecay decay() {
    return decay;
  }

  public PoolStats stats() {
    return new PoolStats(
        leasedBytes(), leasesOutstanding(), pooledBytes(), totalLeases(), allocatedBytes());
  }

  /**
   * In leak-detection mode, one description per outstanding lease (size class and the stack that
   * took it); otherwise empty.
   */
  public List<String> outstandingLeaseSites() {
    return leakTracker == null ? Collections.emptyList() : leakTracker.describeOutstanding();
  }

  /**
   * Throws if any lease is outstanding, listing where each was taken in leak-detection mode.
   *
   * @throws AssertionError if {@link #leasesOutstanding()} is not zero
   */
  public void assertNoLeaks() {
    long outstanding = leasesOutstanding();
    if (outstanding == 0) {
      return;
    }
    StringBuilder message = new StringBuilder()
        .append("pool '").append(name).append("' has ").append(outstanding)
        .append(" outstanding lease(s), ").append(PoolStats.formatBytes(leasedBytes()));
    if (leakTracker == null) {
      message.append("; run with -D").append(LEAK_DETECTION_PROPERTY)
          .append("=true to see where they were leased");
    } else {
      for (String site : leakTracker.describeOutstanding()) {
        message.append('\n').append(site);
      }
    }
    throw new AssertionError(message.toString());
  }

  public String name() {
    return name;
  }

  public boolean isDirect() {
    return direct;
  }

  public long maxPooledBytes() {
    return maxPooledBytes;
  }

  public boolean isLeakDetectionEnabled() {
    return leakTracker != null;
  }

  @Override
  public String toString() {
    return "BufferPool{" + name + (direct ? ", direct" : ", heap") + ", " + stats() + "}";
  }

  /** Index of the smallest class holding {@code minCapacityBytes}, which is at most the max. */
  private static int classIndex(int minCapacityBytes) {
    int shift = 32 - Integer.numberOfLeadingZeros(minCapacityBytes - 1); // ceil(log2)
    return Math.max(shift, MIN_CLASS_SHIFT) - MIN_CLASS_SHIFT;
  }

  private ByteBuffer allocate(int capacityBytes) {
    allocatedBytes.add(capacityBytes);
    return direct ? ByteBuffer.allocateDirect(capacityBytes) : ByteBuffer.allocate(capacityBytes);
  }

  /** Rejects, in O(1), buffers this pool could never have leased. */
  private void checkShape(ByteBuffer buffer, int capacityBytes) {
    boolean classCapacity = capacityBytes >= MIN_CLASS_BYTES
        && capacityBytes <= MAX_CLASS_BYTES
        && Integer.bitCount(capacityBytes) == 1;
    if (buffer.isDirect() != direct
        || buffer.isReadOnly()
        || !(classCapacity || capacityBytes > MAX_CLASS_BYTES)) {
      throw new IllegalStateException(
          "buffer was not leased from pool '" + name + "': capacity=" + capacityBytes
              + " direct=" + buffer.isDirect() + " readOnly=" + buffer.isReadOnly());
    }
  }

  /** Subtracts {@code amount} unless that would go below zero; returns whether it did. */
  private static boolean tryDecrement(AtomicLong counter, long amount) {
    while (true) {
      long current = counter.get();
      if (current < amount) {
        return false;
      }
      if (counter.compareAndSet(current, current - amount)) {
        return true;
      }
    }
  }
}
