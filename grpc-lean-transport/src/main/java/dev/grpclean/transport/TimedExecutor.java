package dev.grpclean.transport;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.LeanConnectionStats.Histogram;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The application's executor as the builders hand it to grpc-core, seen by the transport: counts
 * the tasks grpc-core gives it (a call's callbacks once the transport has handed over a message,
 * headers or a close) and, for one task in {@link #SAMPLE_EVERY}, measures how long it waited in
 * the executor's queue before it ran and how long it ran. A sampled task is wrapped in one small
 * object; the others pass through untouched, so the per-task cost is one counter and one
 * atomic increment. Which tasks are sampled is spread by a hash of the task's number
 * ({@link #isSampled}), not every 16th: a call's tasks come in a fixed pattern (a unary call's
 * start, which runs its handler, then its completion), and a fixed stride sampled only one kind
 * of them, so the run time extrapolated to all tasks counted the handlers twice (a one-thread
 * executor showed "1.47 executor threads busy").
 *
 * <p>Thread-safe.
 */
final class TimedExecutor implements Executor {
  /**
   * One task in this many is timed: at 100k tasks/s that is about 6k samples a second, plenty for
   * a p99, for 1/16 of a wrapper allocation per task.
   */
  static final int SAMPLE_EVERY = 16; // a power of 2: the ticket's hash is shifted

  private final Executor delegate;
  private final Stats stats;

  TimedExecutor(Executor delegate, Stats stats) {
    this.delegate = delegate;
    this.stats = stats;
  }

  @Override
  public void execute(Runnable task) {
    if (!isSampled(stats.tasks.getAndIncrement())) {
      delegate.execute(task);
      return;
    }
    delegate.execute(new Sampled(task, System.nanoTime(), stats));
  }

  /**
   * Whether task number {@code ticket} is timed: one in {@link #SAMPLE_EVERY}, picked by the top
   * bits of a Fibonacci hash, so tasks of every residue modulo any small period are sampled alike.
   */
  static boolean isSampled(long ticket) {
    return (ticket * 0x9E3779B97F4A7C15L) >>> (64 - Integer.numberOfTrailingZeros(SAMPLE_EVERY))
        == 0;
  }

  @Override
  public String toString() {
    return "TimedExecutor[" + delegate + "]";
  }

  /** What the executors of one server or channel builder did. Thread-safe. */
  static final class Stats {
    /** Tasks handed over; also the ticket that picks the sampled ones. */
    final AtomicLong tasks = new AtomicLong();
    final LongAdder sampled = new LongAdder();
    final LongAdder queueWaitNanos = new LongAdder();
    final LongAdder runNanos = new LongAdder();
    final AtomicLongArray queueWaitBuckets =
        new AtomicLongArray(LeanConnectionStats.HISTOGRAM_BUCKETS);

    void addTo(LeanConnectionStats.Builder sum) {
      sum.add(Figure.EXECUTOR_TASKS, tasks.get());
      sum.add(Figure.EXECUTOR_SAMPLED_TASKS, sampled.sum());
      sum.add(Figure.EXECUTOR_QUEUE_WAIT_NANOS, queueWaitNanos.sum());
      sum.add(Figure.EXECUTOR_RUN_NANOS, runNanos.sum());
      long[] buckets = new long[LeanConnectionStats.HISTOGRAM_BUCKETS];
      for (int i = 0; i < buckets.length; i++) {
        buckets[i] = queueWaitBuckets.get(i);
      }
      sum.addHistogram(Histogram.EXECUTOR_QUEUE_WAIT_NANOS, buckets, 0);
    }
  }

  /** A task being timed. Runs on the executor's thread. */
  private static final class Sampled implements Runnable {
    private final Runnable task;
    private final long queuedAtNanos;
    private final Stats stats;

    Sampled(Runnable task, long queuedAtNanos, Stats stats) {
      this.task = task;
      this.queuedAtNanos = queuedAtNanos;
      this.stats = stats;
    }

    @Override
    public void run() {
      long start = System.nanoTime();
      long wait = start - queuedAtNanos;
      stats.sampled.increment();
      stats.queueWaitNanos.add(wait);
      stats.queueWaitBuckets.incrementAndGet(LeanConnectionStats.bucketOf(wait));
      try {
        task.run();
      } finally {
        stats.runNanos.add(System.nanoTime() - start);
      }
    }

    @Override
    public String toString() {
      return task.toString();
    }
  }
}
