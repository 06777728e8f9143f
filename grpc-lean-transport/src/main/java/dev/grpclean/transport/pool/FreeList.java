package dev.grpclean.transport.pool;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import javax.annotation.Nullable;

/**
 * LIFO stack of free buffers of one size class, and the set of this class's <em>member</em>
 * buffers: those the pool takes back on release. Members' capacities, leased or kept, are charged
 * to a budget shared by all classes of a pool ({@code ownedBytes} up to {@code maxOwnedBytes}).
 * A buffer allocated while that budget is full is not a member: it serves its one lease and is
 * left for GC on release (unless a member left meanwhile and it can take its place). So what the
 * pool holds, leased plus kept, stays at the ceiling under any load; demand beyond it is served by
 * short-lived buffers, which the GC collects young, instead of growing the pool to the peak and
 * keeping the peak.
 *
 * <p>Why an {@link ArrayDeque} under a plain monitor rather than a lock-free
 * {@code ConcurrentLinkedDeque}: the critical section is an array store and an index bump, which
 * on a 2-core machine is almost never contended, and an uncontended monitor costs about one CAS,
 * the same as a lock-free push. {@code ConcurrentLinkedDeque} also allocates a node per push, which
 * is garbage on the exact path a pool exists to keep allocation-free. The lock additionally lets
 * {@link #offer} check the head and charge the budget atomically with the push.
 *
 * <p>LIFO because the most recently released buffer is the one most likely still in cache.
 *
 * <p>Thread-safe.
 */
final class FreeList {
  private final int capacityBytes;
  /** Pool-wide bytes in all free lists; each list adds or subtracts only with its lock held. */
  private final AtomicLong pooledBytes;
  /**
   * Pool-wide bytes of member buffers, leased or kept; each list adds or subtracts only with its
   * lock held, and never past {@link #maxOwnedBytes}.
   */
  private final AtomicLong ownedBytes;

  private final long maxOwnedBytes;
  /** The pool's {@code suspendKeeping} holders: while positive, {@link #offer} keeps nothing. */
  private final AtomicInteger keepSuspensions;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final ArrayDeque<ByteBuffer> stack = new ArrayDeque<>();
  /**
   * This class's members by identity (ByteBuffer's own equals compares contents); the stack holds
   * members only. IdentityHashMap: open addressing, no node per entry.
   */
  @GuardedBy("lock")
  private final IdentityHashMap<ByteBuffer, Boolean> members = new IdentityHashMap<>();
  /**
   * The fewest buffers this list held since the last {@link #decay}: that many sat at the bottom
   * of the stack, never leased, through the whole period.
   */
  @GuardedBy("lock")
  private int lowWater;

  /** Called, lock held, with each kept buffer that trim or decay drops; or null. */
  @Nullable private final Consumer<ByteBuffer> onDrop;

  FreeList(int capacityBytes, AtomicLong pooledBytes, AtomicLong ownedBytes, long maxOwnedBytes,
      AtomicInteger keepSuspensions, @Nullable Consumer<ByteBuffer> onDrop) {
    this.onDrop = onDrop;
    this.capacityBytes = capacityBytes;
    this.keepSuspensions = keepSuspensions;
    this.pooledBytes = pooledBytes;
    this.ownedBytes = ownedBytes;
    this.maxOwnedBytes = maxOwnedBytes;
  }

  /**
   * A freshly allocated buffer of this class about to be leased: it becomes a member if the
   * pool-wide budget has room and keeping is not suspended; otherwise it is one-off.
   */
  void adopt(ByteBuffer buffer) {
    synchronized (lock) {
      if (keepSuspensions.get() <= 0 && reserveOwned()) {
        members.put(buffer, Boolean.TRUE);
      }
    }
  }

  /**
   * A leased buffer leaves the pool for good ({@link BufferPool#disown}): if it was a member, its
   * bytes stop counting as owned, making room for another.
   */
  void forget(ByteBuffer buffer) {
    synchronized (lock) {
      if (members.remove(buffer) != null) {
        ownedBytes.addAndGet(-capacityBytes);
      }
    }
  }

  /** Charges one buffer to the pool-wide owned budget if it fits; returns whether it did. */
  @GuardedBy("lock")
  private boolean reserveOwned() {
    long current;
    do {
      current = ownedBytes.get();
      if (current + capacityBytes > maxOwnedBytes) {
        return false;
      }
    } while (!ownedBytes.compareAndSet(current, current + capacityBytes));
    return true;
  }

  /** Removes {@code buffer} from the members (it must be one) and uncharges it. */
  @GuardedBy("lock")
  private void dropMember(ByteBuffer buffer) {
    members.remove(buffer);
    ownedBytes.addAndGet(-capacityBytes);
  }

  /** A kept buffer leaves the pool (trim, decay): no longer a member, and freed if it frees. */
  @GuardedBy("lock")
  private void letGo(ByteBuffer buffer) {
    dropMember(buffer);
    if (onDrop != null) {
      onDrop.accept(buffer);
    }
  }

  /** Takes the most recently offered buffer, or returns null if the list is empty. */
  @Nullable
  ByteBuffer poll() {
    synchronized (lock) {
      ByteBuffer buffer = stack.pollFirst();
      if (buffer != null) {
        // Subtract after the pop so pooledBytes never goes negative.
        pooledBytes.addAndGet(-capacityBytes);
        lowWater = Math.min(lowWater, stack.size());
      }
      return buffer;
    }
  }

  /**
   * Takes ownership of {@code buffer} if it is a member (or becomes one: the pool-wide owned
   * budget has room) and keeping is not suspended, and returns whether it was kept; a buffer that
   * is not kept is left for GC, and stops being a member.
   *
   * @throws IllegalStateException if {@code buffer} is already on top of this list: the common
   *     "released twice in a row" bug, caught in O(1) before the buffer could be leased twice
   */
  boolean offer(ByteBuffer buffer) {
    synchronized (lock) {
      if (stack.peekFirst() == buffer) {
        throw new IllegalStateException("buffer released twice: it is already pooled");
      }
      // Read under the lock: a suspension's trim takes this lock after raising the count, so a
      // buffer pushed here before it is trimmed by it, and none is pushed after.
      boolean member = members.containsKey(buffer);
      if (keepSuspensions.get() > 0) {
        if (member) {
          dropMember(buffer);
        }
        return false;
      }
      if (!member) {
        // A pool that frees what it drops never adopts at release: a one-off released twice
        // (already freed) must not become a member and be leased again.
        if (onDrop != null || !reserveOwned()) {
          return false; // One-off: the members fill the budget.
        }
        members.put(buffer, Boolean.TRUE);
      }
      // Kept bytes are members' bytes, so they never exceed the owned ceiling either.
      pooledBytes.addAndGet(capacityBytes);
      stack.addFirst(buffer);
      return true;
    }
  }

  /** Drops every buffer in this list for GC. */
  void trim() {
    synchronized (lock) {
      pooledBytes.addAndGet(-(long) capacityBytes * stack.size());
      for (ByteBuffer buffer : stack) {
        letGo(buffer);
      }
      stack.clear();
      lowWater = 0;
    }
  }

  /**
   * Drops, oldest first, the buffers no lease reached since the last call, while the pool-wide
   * pooled bytes stay above {@code floorBytes}; then starts a new period. Returns bytes dropped.
   */
  long decay(long floorBytes) {
    synchronized (lock) {
      long dropped = 0;
      for (int idle = lowWater; idle > 0 && pooledBytes.get() - capacityBytes >= floorBytes;
          idle--) {
        letGo(stack.pollLast()); // the bottom: released longest ago
        pooledBytes.addAndGet(-capacityBytes);
        dropped += capacityBytes;
      }
      lowWater = stack.size();
      return dropped;
    }
  }
}
