package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import com.google.common.util.concurrent.MoreExecutors;
import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.LeanConnectionStats.Histogram;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The executor wrapper measures queueing of one task in 16 and leaves grpc-core's specials. */
public class TimedExecutorTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private static final long TASK_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  @Test
  public void oneThreadExecutorWithBlockingTasksShowsTheQueueWait() throws Exception {
    ConnectionStatsGroup group = new ConnectionStatsGroup();
    ExecutorService one = Executors.newSingleThreadExecutor();
    try {
      Executor timed = group.timed(one);
      int tasks = 4 * TimedExecutor.SAMPLE_EVERY;
      CountDownLatch done = new CountDownLatch(tasks);
      for (int i = 0; i < tasks; i++) {
        timed.execute(() -> {
          blockFor(TASK_NANOS);
          done.countDown();
        });
      }
      assertTrue(done.await(20, TimeUnit.SECONDS));
    } finally {
      one.shutdown();
      assertTrue(one.awaitTermination(10, TimeUnit.SECONDS));
    }
    LeanConnectionStats s = group.snapshot();
    assertEquals(64, s.get(Figure.EXECUTOR_TASKS));
    long sampled = 0;
    long waitedAtLeast = 0;
    long last = 0;
    for (int t = 0; t < 64; t++) {
      if (TimedExecutor.isSampled(t)) {
        sampled++;
        waitedAtLeast += t * TASK_NANOS; // each waited behind all the tasks before it
        last = t;
      }
    }
    assertEquals(sampled, s.get(Figure.EXECUTOR_SAMPLED_TASKS));
    assertTrue(String.valueOf(s.get(Figure.EXECUTOR_QUEUE_WAIT_NANOS)),
        s.get(Figure.EXECUTOR_QUEUE_WAIT_NANOS) >= waitedAtLeast);
    assertTrue(s.get(Figure.EXECUTOR_RUN_NANOS) >= sampled * TASK_NANOS);
    assertEquals(sampled, s.histogramCount(Histogram.EXECUTOR_QUEUE_WAIT_NANOS));
    assertTrue(s.percentile(Histogram.EXECUTOR_QUEUE_WAIT_NANOS, 0.99) >= last * TASK_NANOS);
  }

  /**
   * A call's tasks come in a fixed pattern; the sampled ones must cover every position of it,
   * or the run time extrapolated to all tasks is that of one kind of task only. A stride of 16
   * sampled only even tasks.
   */
  @Test
  public void sampledTasksCoverEveryPhaseOfAPeriodicPattern() {
    int tasks = 256 * TimedExecutor.SAMPLE_EVERY;
    for (int period = 2; period <= 8; period++) {
      int[] byPhase = new int[period];
      for (int t = 0; t < tasks; t++) {
        if (TimedExecutor.isSampled(t)) {
          byPhase[t % period]++;
        }
      }
      int expected = tasks / TimedExecutor.SAMPLE_EVERY / period;
      for (int phase = 0; phase < period; phase++) {
        assertTrue("period " + period + " phase " + phase + ": " + byPhase[phase],
            byPhase[phase] >= expected * 3 / 4 && byPhase[phase] <= expected * 5 / 4);
      }
    }
  }

  @Test
  public void directAndDefaultExecutorsPassThrough() {
    ConnectionStatsGroup group = new ConnectionStatsGroup();
    assertSame(MoreExecutors.directExecutor(), group.timed(MoreExecutors.directExecutor()));
    assertNull(group.timed(null));
    Executor timed = group.timed(Runnable::run);
    assertSame("not wrapped twice", timed, group.timed(timed));
  }

  private static void blockFor(long nanos) {
    long end = System.nanoTime() + nanos;
    while (System.nanoTime() < end) {
      java.util.concurrent.locks.LockSupport.parkNanos(end - System.nanoTime());
    }
  }
}
