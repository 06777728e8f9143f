package dev.grpclean.transport;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.grpclean.transport.io.EventLoop;
import java.util.ArrayList;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Puts idle connections of one {@link EventLoop} into hibernation: once per {@link
 * #PERIOD_MILLIS} it asks every watched connection whether it did anything since the last sweep
 * ({@link Http2Connection#sweepIdle}); one that had no streams and no reads or writes for a whole
 * period drops what it can rebuild (HPACK coders, frame reader) and leaves the list. Activity puts
 * it back ({@link Http2Connection#noteActivity}).
 *
 * <p>One sweeper per loop, not a timer per connection: a watched connection costs one list slot,
 * a hibernated one nothing here. The timer task exists only while something is watched.
 *
 * <p>Confined to its loop's thread, except {@link #forLoop}, which is thread-safe.
 */
final class IdleSweeper {
  /**
   * Milliseconds of a sweep period: a connection hibernates after one to two periods without
   * streams or traffic. A second keeps a busy connection (requests well under a second apart)
   * from rebuilding its coders per request, and an idle one lean within two seconds.
   * {@code -Dgrpclean.idleSweepMillis} changes it: tests set a few milliseconds so that
   * connections hibernate and wake between nearly every pair of frames (interop, h2spec).
   */
  static final long PERIOD_MILLIS = Long.getLong("grpclean.idleSweepMillis", 1000);

  private static final Object LOCK = new Object();
  /** Hibernations in this process so far (tests wait on it; written on loop threads). */
  private static final java.util.concurrent.atomic.AtomicLong HIBERNATIONS =
      new java.util.concurrent.atomic.AtomicLong();

  @GuardedBy("LOCK")
  private static final Map<EventLoop, IdleSweeper> SWEEPERS = new WeakHashMap<>();

  private final EventLoop loop;
  private ArrayList<Http2Connection> watched = new ArrayList<>();
  private ArrayList<Http2Connection> spare = new ArrayList<>();
  private boolean scheduled;
  private final Runnable sweepOnLoop = this::sweep;

  private IdleSweeper(EventLoop loop) {
    this.loop = loop;
  }

  /** The sweeper of {@code loop}, created on first use. */
  static IdleSweeper forLoop(EventLoop loop) {
    synchronized (LOCK) {
      return SWEEPERS.computeIfAbsent(loop, IdleSweeper::new);
    }
  }

  /** Watches {@code c} until it hibernates or closes; loop thread. */
  void watch(Http2Connection c) {
    watched.add(c);
    if (!scheduled) {
      schedule(c.scheduler());
    }
  }

  static void countHibernation() {
    HIBERNATIONS.incrementAndGet();
  }

  /** Connections hibernated in this process so far. */
  static long hibernations() {
    return HIBERNATIONS.get();
  }

  /**
   * Stops watching {@code c}, which closed: a closed connection must not stay reachable (with its
   * socket, security engine and streams) until the next sweep. Scans from the newest entry;
   * the list holds only connections awake now.
   */
  void unwatch(Http2Connection c) {
    int i = watched.lastIndexOf(c);
    if (i >= 0) {
      watched.remove(i);
    }
  }

  /** Connections watched now (tests). */
  int watchedCount() {
    return watched.size();
  }

  private void schedule(ScheduledExecutorService timer) {
    try {
      timer.schedule(() -> loop.executeOrDrop(sweepOnLoop), PERIOD_MILLIS, TimeUnit.MILLISECONDS);
      scheduled = true;
    } catch (RejectedExecutionException e) {
      // gRPC's shared timer was released with the last transport; the next watch() retries.
      scheduled = false;
    }
  }

  private void sweep() {
    scheduled = false;
    ArrayList<Http2Connection> keep = spare;
    ScheduledExecutorService timer = null;
    for (Http2Connection c : watched) {
      if (!c.sweepIdle()) {
        keep.add(c);
        timer = c.scheduler();
      }
    }
    int swept = watched.size();
    watched.clear();
    // After a burst of connections went idle, let the burst's array go.
    spare = swept > 64 && swept > 4 * keep.size() ? new ArrayList<>() : watched;
    watched = keep;
    if (timer != null) {
      schedule(timer);
    }
  }
}
