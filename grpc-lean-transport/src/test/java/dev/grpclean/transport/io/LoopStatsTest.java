package dev.grpclean.transport.io;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** A poller thread's figures: tasks counted, CPU work as busy time, an idle loop as waiting. */
public class LoopStatsTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private final EventLoopGroup group = new EventLoopGroup(1, "loop-stats-test");
  private final EventLoop loop = group.next();

  @After
  public void stop() {
    group.shutdownAndWait();
  }

  @Test
  public void tasksAreCounted() throws Exception {
    for (int i = 0; i < 100; i++) {
      loop.execute(() -> { });
    }
    CompletableFuture<Long> counted = new CompletableFuture<>();
    loop.execute(() -> counted.complete(loop.stats().tasksRun()));
    assertEquals("the tasks before this one, counted on the loop", 100,
        (long) counted.get(10, TimeUnit.SECONDS));
  }

  @Test
  public void aTaskHandedToASleepingLoopIsOneWaitAndOneWakeUp() throws Exception {
    LoopStats stats = loop.stats();
    for (int i = 0; i < 3; i++) {
      // Wait until the loop sleeps in select (a wait in progress), then hand it one task.
      awaitSleeping(stats);
      long waits = stats.waits();
      long wakeups = stats.wakeups();
      CompletableFuture<Void> ran = new CompletableFuture<>();
      loop.execute(() -> ran.complete(null));
      ran.get(10, TimeUnit.SECONDS);
      assertEquals("the producer found the loop asleep and woke it", wakeups + 1,
          stats.wakeups());
      awaitSleeping(stats);
      assertEquals("one wait ended by the task, one begun after it", waits + 1, stats.waits());
    }
  }

  @Test
  public void tasksHandedToABusyLoopWakeNothing() throws Exception {
    LoopStats stats = loop.stats();
    awaitSleeping(stats);
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    loop.execute(() -> {
      running.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assertTrue(running.await(10, TimeUnit.SECONDS));
    long wakeups = stats.wakeups();
    CountDownLatch ran = new CountDownLatch(100);
    for (int i = 0; i < 100; i++) {
      loop.execute(ran::countDown);
    }
    release.countDown();
    assertTrue(ran.await(10, TimeUnit.SECONDS));
    assertEquals("the loop was awake (running a task) for every hand-off", wakeups,
        stats.wakeups());
  }

  @Test
  public void aFlushIsNotHeldBackByAProducerThatNeverStops() throws Exception {
    LoopStats stats = loop.stats();
    AtomicBoolean stop = new AtomicBoolean();
    Thread producer = new Thread(() -> {
      while (!stop.get()) {
        loop.execute(() -> { });
      }
    }, "endless-producer");
    producer.start();
    try {
      for (int i = 0; i < 20; i++) {
        CompletableFuture<Void> flushed = new CompletableFuture<>();
        // Each end-of-batch action finds tasks queued after every yield: the yields are bounded,
        // so it still runs, after at most YIELDS_BEFORE_FLUSH more passes over the queue.
        loop.execute(() -> loop.runAtEndOfBatch(() -> flushed.complete(null)));
        flushed.get(10, TimeUnit.SECONDS);
      }
    } finally {
      stop.set(true);
      producer.join();
    }
    assertTrue(stats.fruitfulYields() <= stats.yieldsBeforeFlush());
  }

  @Test
  public void tasksQueuedBeforeTheFlushRunBeforeItInTheirOrder() throws Exception {
    // A producer hands tasks over while the loop schedules an end-of-batch action: whatever the
    // loop ran before that action (in its pass or after its yield) ran in the producer's order,
    // and the rest after it, also in order.
    for (int round = 0; round < 200; round++) {
      java.util.List<Integer> ran = new java.util.ArrayList<>(); // loop thread only
      CountDownLatch all = new CountDownLatch(100);
      CompletableFuture<Integer> ranBeforeFlush = new CompletableFuture<>();
      loop.execute(() -> loop.runAtEndOfBatch(() -> ranBeforeFlush.complete(ran.size())));
      for (int i = 0; i < 100; i++) {
        int n = i;
        loop.execute(() -> {
          ran.add(n);
          all.countDown();
        });
      }
      assertTrue(all.await(10, TimeUnit.SECONDS));
      ranBeforeFlush.get(10, TimeUnit.SECONDS);
      CompletableFuture<java.util.List<Integer>> order = new CompletableFuture<>();
      loop.execute(() -> order.complete(new java.util.ArrayList<>(ran)));
      java.util.List<Integer> got = order.get(10, TimeUnit.SECONDS);
      for (int i = 0; i < 100; i++) {
        assertEquals(i, (int) got.get(i));
      }
    }
  }

  /** Spins until the loop is blocked in select. */
  private static void awaitSleeping(LoopStats stats) {
    long before = stats.waitNanos(System.nanoTime());
    while (stats.waitNanos(System.nanoTime()) == before) {
      Thread.onSpinWait();
    }
  }

  @Test
  public void workOnTheLoopIsBusyAndIdlingIsWaiting() throws Exception {
    LoopStats stats = loop.stats();
    long spinNanos = TimeUnit.MILLISECONDS.toNanos(100);
    long t0 = System.nanoTime();
    long busy0 = stats.busyNanos(t0);
    CompletableFuture<Void> spun = new CompletableFuture<>();
    loop.execute(() -> {
      long end = System.nanoTime() + spinNanos;
      while (System.nanoTime() < end) {
        Thread.onSpinWait();
      }
      spun.complete(null);
    });
    spun.get(10, TimeUnit.SECONDS);
    long t1 = System.nanoTime();
    assertTrue("the spinning task is busy time",
        stats.busyNanos(t1) - busy0 >= spinNanos);

    // Now idle: wait until the loop is back in select (a wait in progress), then watch its
    // waiting time grow. Measured from that point, not from t1: the way from the task back to
    // select is busy time, and a loop thread held up there on a loaded machine would count it.
    long wait1 = stats.waitNanos(t1);
    long tIdle;
    do {
      Thread.onSpinWait();
      tIdle = System.nanoTime();
    } while (stats.waitNanos(tIdle) == wait1);
    long busyIdle = stats.busyNanos(tIdle);
    long waitIdle = stats.waitNanos(tIdle);
    long t2;
    do {
      Thread.onSpinWait();
      t2 = System.nanoTime();
    } while (stats.waitNanos(t2) - waitIdle < TimeUnit.MILLISECONDS.toNanos(200));
    long busyWhileIdle = stats.busyNanos(t2) - busyIdle;
    assertTrue("an idle loop is waiting, not busy: " + busyWhileIdle,
        busyWhileIdle < (t2 - tIdle) / 2);
    assertTrue(stats.channelsOwned() >= 0);
  }
}
