package dev.grpclean.transport;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.errorprone.annotations.CheckReturnValue;
import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;

/**
 * One bound on the bytes the lean transport holds for messages, shared by every server and
 * channel given the same object ({@code memoryBudget(...)} on {@link LeanServerBuilder} and
 * {@link LeanChannelBuilder}), or by all of them through the process-wide default read from the
 * system property {@value #PROPERTY} ({@code 32m}, {@code 1g}, {@code 512k} or plain bytes).
 * Without either a transport has no budget and behaves exactly as before: the hot paths test one
 * null field.
 *
 * <p>What is charged, in bytes of the buffer actually held (a pooled buffer's whole capacity):
 * <ul>
 *   <li>inbound DATA payloads handed to grpc-core and not yet consumed ({@link InboundData}:
 *       the inbound-pool lease of a payload of 4 KiB or more, the exact array of a smaller
 *       one), charged on the connection's loop thread when the frame is delivered and released
 *       when grpc-core closes the buffer;</li>
 *   <li>outbound message bytes from the moment an application thread hands a framed message to
 *       the transport ({@code writeFrame}) until the writer has copied them into its write buffer
 *       (or, gathering on a plaintext socket, the socket has taken them) or dropped them: the
 *       hand-over to the loop thread, the writer's per-stream DATA queue behind flow control
 *       and its batch ({@link WriteBatch}).</li>
 * </ul>
 * Not charged: the per-read socket lease (64 KiB, held only during one readiness event), the
 * writer's one write buffer and unsent tail per blocked connection, partial frames and records
 * (bounded by the frame and record size), handshake buffers, HPACK state and the pools' kept
 * buffers ({@link LeanTransportStats#keptBytes()}). The outbound pool, where outbound message
 * bytes live, and the heap pool keep nothing while any budget is at or above half its limit:
 * reaching half drops what they kept and they keep no released buffer until usage is back below
 * half, so under pressure the uncharged kept bytes beside the charged ones are 0 (without this
 * they may add up to those pools' ceilings, 16 MiB each by default, to what the budget allows).
 * The inbound pool, where DATA waits for grpc-core, owns at most its ceiling (2 MiB by default)
 * leased or kept, so its kept bytes stay within that whatever the budget.
 *
 * <p>How the transport degrades rather than fails ({@link ConnectionBudget} has the details):
 * <ul>
 *   <li>from half the limit, a connection that holds unconsumed or partial inbound messages
 *       restricts its peer's stream windows (SETTINGS_INITIAL_WINDOW_SIZE of 16 KiB, consumed
 *       bytes kept back) and lets at most four streams with a partial message finish at a time,
 *       each setting one stream window aside here while charged plus set-aside bytes stay under
 *       seven eighths of the limit ({@link #restrictions()},
 *       {@link #restrictedConnections()}). It keeps reading, so control frames and small calls
 *       go on; its windows come back below a quarter of the limit. Grpc-core frees a message's
 *       bytes only once the message is whole, so without this a peer's partial messages on many
 *       streams (1,000 uploads of 1 MiB) would fill any budget;</li>
 *   <li>when those partial messages leave room for no stream to finish and nothing moves for
 *       250 ms, the connection fails its streams holding the most bytes with RESOURCE_EXHAUSTED,
 *       as few as free room for one, never all ({@link #streamsReclaimed()});</li>
 *   <li>from three quarters ({@link #pressureBytes()}), a stream that hands the transport a
 *       message reports {@code isReady() == false} and gets {@code onReady} again once the budget
 *       falls below that mark (grpc-core's {@code isReady()} is final: the transport holds phantom
 *       queued bytes in grpc-core's onReady accounting meanwhile);</li>
 *   <li>at the limit, a server refuses new streams with REFUSED_STREAM (grpc-java retries such a
 *       call once, transparently; {@link #streamsRefused()}), and as a backstop a connection
 *       holding inbound bytes stops reading its socket after the read in progress
 *       ({@link #pausedConnections()}) until the budget is back under the pressure mark or it
 *       holds nothing;</li>
 *   <li>control frames (SETTINGS and PING acks, WINDOW_UPDATE, RST_STREAM, GOAWAY) are never
 *       charged nor held back.</li>
 * </ul>
 * Outbound bytes arrive in framer buffers of at most 64 KiB: one that holds only whole messages
 * (a unary response, a small streaming message) is taken up to the limit, any other (part of a
 * larger message) only below the pressure mark; one that is not taken fails its stream with
 * RESOURCE_EXHAUSTED ({@link #writesRefused()}), so an application that ignores
 * {@code isReady()} cannot push the transport past the limit, and bulk writers leave a quarter of
 * the budget for small calls. A buffer for part of a larger message is refused already when
 * grpc-core's framer asks for it while the budget is at or above the pressure mark, before
 * anything is leased or filled, and a refused stream's later buffers hold no array: a refused
 * 1 MiB message costs no buffer memory at all. An inbound DATA frame is always taken, even one larger than what is
 * left: its bytes are already read, and refusing them would fail a well-behaved stream for
 * another connection's load. So inbound charges may pass the limit by at most what one socket
 * read (64 KiB of frames, at most 128 KiB of pooled copies) delivers on each connection reading
 * when the limit is reached (MemoryBudgetScaleTest: 64 MiB budget, 1,000 concurrent 1 MiB uploads
 * all complete with a peak of about 49 MiB charged).
 *
 * <p>Thread-safe and lock-free: every counter is an atomic; waiters are a concurrent queue.
 */
public final class LeanMemoryBudget {
  private static final Logger log = Logger.getLogger(LeanMemoryBudget.class.getName());

  /** The system property that sets the process-wide default budget. */
  public static final String PROPERTY = "grpclean.memoryBudget";

  /** The pressure log line is written at most once per this period (60 s, in nanos). */
  private static final long LOG_PERIOD_NANOS = 60_000_000_000L;

  private final long limitBytes;
  /** Half the limit: at or above it the {@link #keptPools} keep nothing. */
  private final long halfBytes;
  /**
   * The pools told to keep nothing while usage is at or above half (the transport's budget names
   * the outbound and heap pools); possibly none.
   */
  private final List<BufferPool> keptPools;
  /** Three quarters of the limit: where isReady turns false and waiters wake. */
  private final long pressureBytes;
  private final AtomicLong used = new AtomicLong();
  private final AtomicLong peak = new AtomicLong();
  private final AtomicLong pausedConnections = new AtomicLong();
  private final AtomicLong pauses = new AtomicLong();
  private final AtomicLong streamsRefused = new AtomicLong();
  private final AtomicLong writesRefused = new AtomicLong();
  private final AtomicLong streamsReclaimed = new AtomicLong();
  private final AtomicLong restrictedConnections = new AtomicLong();
  /**
   * Bytes set aside for the streams restricted connections let through (ConnectionBudget's
   * leaders): not charged, but counted when deciding whether another stream may go.
   */
  private final AtomicLong promised = new AtomicLong();
  private final AtomicLong restrictions = new AtomicLong();
  /** Bytes ever released (monotonic): how a paused connection tells progress from a stall. */
  private final AtomicLong releasedTotal = new AtomicLong();
  /** {@link System#nanoTime()} of the last pressure log line; 0 = never. */
  private final AtomicLong lastLogNanos = new AtomicLong();
  /** Run once each when usage falls below {@link #pressureBytes}. */
  private final ConcurrentLinkedQueue<Runnable> waiters = new ConcurrentLinkedQueue<>();

  private LeanMemoryBudget(long limitBytes, List<BufferPool> keptPools) {
    checkArgument(limitBytes > 0, "memory budget must be positive: %s", limitBytes);
    this.limitBytes = limitBytes;
    this.halfBytes = limitBytes / 2;
    this.keptPools = keptPools;
    this.pressureBytes = limitBytes - limitBytes / 4;
  }

  /** A budget of {@code limitBytes} (positive), to share between servers and channels. */
  public static LeanMemoryBudget of(long limitBytes) {
    return new LeanMemoryBudget(limitBytes, List.of(Pools.outbound(), Pools.heap()));
  }

  /**
   * A budget that makes {@code keptPool} keep nothing while usage is at or above half the limit
   * (the transport's: the process-wide outbound and heap pools); tests pass their own pool, or
   * null.
   */
  static LeanMemoryBudget of(long limitBytes, @Nullable BufferPool keptPool) {
    return new LeanMemoryBudget(limitBytes, keptPool == null ? List.of() : List.of(keptPool));
  }

  /**
   * The process-wide budget from {@value #PROPERTY}, or null when the property is unset. Read
   * once, on first use; with an unparsable value every call (so every lean server and channel
   * build) throws an {@link IllegalArgumentException} naming the property.
   */
  @Nullable
  public static LeanMemoryBudget processDefault() {
    if (ProcessDefault.ERROR != null) {
      throw new IllegalArgumentException(ProcessDefault.ERROR.getMessage(), ProcessDefault.ERROR);
    }
    return ProcessDefault.BUDGET;
  }

  /** The budget a builder uses: its own if set, else the process default (maybe null). */
  @Nullable
  static LeanMemoryBudget resolve(@Nullable LeanMemoryBudget explicit) {
    return explicit != null ? explicit : processDefault();
  }

  /** Holder: the property is read on first use, and a bad value is kept to report each time. */
  private static final class ProcessDefault {
    @Nullable static final LeanMemoryBudget BUDGET;
    @Nullable static final IllegalArgumentException ERROR;

    static {
      LeanMemoryBudget budget = null;
      IllegalArgumentException error = null;
      try {
        budget = fromProperty(System.getProperty(PROPERTY));
      } catch (IllegalArgumentException e) {
        error = e;
      }
      BUDGET = budget;
      ERROR = error;
    }
  }

  @Nullable
  static LeanMemoryBudget fromProperty(@Nullable String value) {
    if (value == null || value.isBlank()) {
      return null;
    }
    return of(parseBytes(value));
  }

  /** Parses {@code 123}, {@code 64k}, {@code 32m}, {@code 1g} (binary units, any case). */
  static long parseBytes(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    long unit = 1;
    char last = v.isEmpty() ? ' ' : v.charAt(v.length() - 1);
    if (last == 'k' || last == 'm' || last == 'g') {
      unit = last == 'k' ? 1L << 10 : last == 'm' ? 1L << 20 : 1L << 30;
      v = v.substring(0, v.length() - 1);
    }
    try {
      long n = Long.parseLong(v);
      if (n <= 0) {
        throw new NumberFormatException("not positive");
      }
      return Math.multiplyExact(n, unit);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("-D" + PROPERTY + "=" + value
          + " is not a positive byte count (examples: 33554432, 32m, 1g)", e);
    }
  }

  /** The limit in bytes. */
  public long limitBytes() {
    return limitBytes;
  }

  /** Bytes charged now. */
  public long usedBytes() {
    return used.get();
  }

  /** The most bytes ever charged at once. */
  public long peakBytes() {
    return peak.get();
  }

  /**
   * Half the limit: from here connections holding inbound messages restrict their peers'
   * windows, and the outbound and heap pools keep no buffers
   * ({@link LeanTransportStats#keptBytes()}).
   */
  public long halfBytes() {
    return halfBytes;
  }

  /** Where the transport starts to degrade: three quarters of the limit. */
  public long pressureBytes() {
    return pressureBytes;
  }

  /** Connections not reading their socket right now because this budget is at its limit. */
  public long pausedConnections() {
    return pausedConnections.get();
  }

  /** Times a connection stopped reading because of this budget (monotonic). */
  public long pauses() {
    return pauses.get();
  }

  /**
   * Connections whose stream windows are restricted right now because of this budget (they keep
   * reading; see {@link #restrictions()}).
   */
  public long restrictedConnections() {
    return restrictedConnections.get();
  }

  /**
   * Times a connection restricted its peer's stream windows because of this budget: sent a small
   * SETTINGS_INITIAL_WINDOW_SIZE and let only a few streams finish their messages at a time
   * (monotonic).
   */
  public long restrictions() {
    return restrictions.get();
  }

  /** New streams a server refused with REFUSED_STREAM because of this budget (monotonic). */
  public long streamsRefused() {
    return streamsRefused.get();
  }

  /** Outbound messages that did not fit and failed their stream (monotonic). */
  public long writesRefused() {
    return writesRefused.get();
  }

  /**
   * Streams failed with RESOURCE_EXHAUSTED because their connection's partial messages left no
   * room for any to finish and nothing moved for 250 ms (monotonic).
   */
  public long streamsReclaimed() {
    return streamsReclaimed.get();
  }

  /** Whether usage reached the pressure mark. */
  public boolean isUnderPressure() {
    return used.get() >= pressureBytes;
  }

  /** Whether usage reached the limit. */
  public boolean isExhausted() {
    return used.get() >= limitBytes;
  }

  /** Charges {@code bytes} if they fit under the limit; returns false, charging nothing, if not. */
  @CheckReturnValue
  public boolean tryReserve(long bytes) {
    while (true) {
      long u = used.get();
      long next = u + bytes;
      if (next > limitBytes) {
        logPressure(u);
        return false;
      }
      if (used.compareAndSet(u, next)) {
        onCharged(u, next);
        return true;
      }
    }
  }

  /**
   * Charges an outbound buffer of {@code bytes} from grpc-core's framer (at most 64 KiB each). A
   * buffer that holds only whole messages ({@code wholeMessages}: a unary response, a small
   * streaming message) is taken up to the limit; any other (part of a larger message) only while
   * usage is below the pressure mark. Bulk writers racing past the mark therefore stop at the
   * mark plus one buffer, and the rest of the budget stays for small calls.
   */
  @CheckReturnValue
  boolean tryReserveOutbound(long bytes, boolean wholeMessages) {
    while (true) {
      long u = used.get();
      long next = u + bytes;
      if (next > limitBytes || (!wholeMessages && u >= pressureBytes)) {
        logPressure(u);
        return false;
      }
      if (used.compareAndSet(u, next)) {
        onCharged(u, next);
        return true;
      }
    }
  }

  /** Charges {@code bytes} whether they fit or not (bytes the transport already holds). */
  public void reserve(long bytes) {
    long next = used.addAndGet(bytes);
    onCharged(next - bytes, next);
  }

  /** Returns {@code bytes} charged before; wakes the waiters once usage is below pressure. */
  public void release(long bytes) {
    long next = used.addAndGet(-bytes);
    releasedTotal.addAndGet(bytes);
    if (next < 0) {
      throw new IllegalStateException("memory budget released more than charged: " + next);
    }
    if (next < halfBytes && next + bytes >= halfBytes) {
      // This release took usage below half: ends the suspension the crossing upwards began.
      // Each crossing is seen by exactly one update of `used`, so begins and ends pair up.
      for (BufferPool pool : keptPools) {
        pool.resumeKeeping();
      }
    }
    if (next < pressureBytes && !waiters.isEmpty()) {
      wakeWaiters();
    }
  }

  private void onCharged(long before, long after) {
    if (before < halfBytes && after >= halfBytes) {
      for (BufferPool pool : keptPools) {
        pool.suspendKeeping(); // drops what the pool kept; it keeps nothing until below half
      }
    }
    long p;
    while (after > (p = peak.get()) && !peak.compareAndSet(p, after)) {
      // Another thread raised the peak: retry against its value.
    }
    if (before < pressureBytes && after >= pressureBytes) {
      logPressure(after);
    }
  }

  /**
   * Runs {@code waiter} once usage is below the pressure mark: at once (on this thread) if it is
   * already, else on the thread whose release takes it there. A waiter must be cheap and must
   * not block (the transport's hands its work to a connection's loop).
   */
  void runWhenBelowPressure(Runnable waiter) {
    waiters.add(waiter);
    // Checked after adding: a release that fell below the mark before the add is seen here, one
    // after it sees the waiter, so no wake-up is lost.
    if (!isUnderPressure()) {
      wakeWaiters();
    }
  }

  private void wakeWaiters() {
    Runnable r;
    while ((r = waiters.poll()) != null) {
      r.run();
    }
  }

  void connectionPaused() {
    pausedConnections.incrementAndGet();
    pauses.incrementAndGet();
  }

  void connectionResumed() {
    pausedConnections.decrementAndGet();
  }

  /**
   * Sets {@code bytes} aside if charged plus promised bytes stay at or below {@code ceilingBytes};
   * returns whether it did.
   */
  boolean tryPromise(long bytes, long ceilingBytes) {
    while (true) {
      long p = promised.get();
      if (used.get() + p + bytes > ceilingBytes) {
        return false;
      }
      if (promised.compareAndSet(p, p + bytes)) {
        return true;
      }
    }
  }

  void unpromise(long bytes) {
    promised.addAndGet(-bytes);
  }

  /** Bytes set aside for streams let through restricted connections (tests). */
  long promisedBytes() {
    return promised.get();
  }

  void connectionRestricted() {
    restrictedConnections.incrementAndGet();
    restrictions.incrementAndGet();
  }

  void connectionUnrestricted() {
    restrictedConnections.decrementAndGet();
  }

  void streamRefused() {
    streamsRefused.incrementAndGet();
    logPressure(used.get());
  }

  /** Bytes released since this budget was made (monotonic). */
  long releasedTotalBytes() {
    return releasedTotal.get();
  }

  void streamReclaimed() {
    streamsReclaimed.incrementAndGet();
  }

  /**
   * A stream's outbound buffer was refused: counted, and the status that fails its call. Any
   * thread.
   */
  io.grpc.Status refuseWrite() {
    writesRefused.incrementAndGet();
    return io.grpc.Status.RESOURCE_EXHAUSTED.withDescription("grpc-lean memory budget of "
        + limitBytes() + " bytes exhausted (memoryBudget / -D" + PROPERTY + ")");
  }

  /** The rate-limited line that says the budget is biting. */
  private void logPressure(long usedNow) {
    long now = System.nanoTime();
    long last = lastLogNanos.get();
    if ((last == 0 || now - last >= LOG_PERIOD_NANOS) && lastLogNanos.compareAndSet(last, now)) {
      log.log(Level.WARNING, "grpc-lean memory budget under pressure: {0} of {1} bytes used"
          + " (connections holding inbound messages restrict their peers' windows, isReady() is"
          + " false, new streams are refused at the limit); raise it with memoryBudget(...) or -D"
          + PROPERTY,
          new Object[] {usedNow, limitBytes});
    }
  }

  @Override
  public String toString() {
    return "LeanMemoryBudget{limit=" + limitBytes + ", used=" + used.get() + ", peak="
        + peak.get() + ", pausedConnections=" + pausedConnections.get() + ", pauses="
        + pauses.get() + ", restrictedConnections=" + restrictedConnections.get()
        + ", restrictions=" + restrictions.get() + ", streamsRefused=" + streamsRefused.get() + ", writesRefused="
        + writesRefused.get() + ", streamsReclaimed=" + streamsReclaimed.get() + "}";
  }
}
