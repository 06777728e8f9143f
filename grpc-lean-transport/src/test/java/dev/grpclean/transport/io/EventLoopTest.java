package dev.grpclean.transport.io;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class EventLoopTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  /** Generous: only a lost wake-up or a dead loop takes anywhere near this long. */
  private static final long AWAIT_SECONDS = 20;

  private EventLoopGroup group;
  private EventLoop loop;

  @Before
  public void setUp() {
    group = new EventLoopGroup(1, "event-loop-test");
    loop = group.next();
  }

  @After
  public void tearDown() {
    group.shutdownAndWait();
  }

  @Test
  public void tasksFromManyThreadsRunOnTheLoopInEachProducersOrder() throws Exception {
    int producers = 8;
    int tasksEach = 5_000;
    // Confined to the loop thread; read after `done`, which orders it.
    List<Long> ran = new ArrayList<>(producers * tasksEach);
    AtomicInteger offLoop = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(producers * tasksEach);
    List<Thread> threads = new ArrayList<>();
    for (int p = 0; p < producers; p++) {
      long producer = p;
      Thread t = new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        for (int i = 0; i < tasksEach; i++) {
          long entry = producer << 32 | i;
          loop.execute(() -> {
            if (!loop.inEventLoop()) {
              offLoop.incrementAndGet();
            }
            ran.add(entry);
            done.countDown();
          });
        }
      }, "producer-" + p);
      t.start();
      threads.add(t);
    }
    start.countDown();
    assertTrue("tasks did not all run", done.await(AWAIT_SECONDS, TimeUnit.SECONDS));
    for (Thread t : threads) {
      t.join();
    }

    assertEquals(0, offLoop.get());
    assertEquals(producers * tasksEach, ran.size());
    int[] next = new int[producers];
    for (long entry : ran) {
      int producer = (int) (entry >>> 32);
      int seq = (int) entry;
      assertEquals("producer " + producer + " out of order", next[producer], seq);
      next[producer]++;
    }
    int[] expected = new int[producers];
    Arrays.fill(expected, tasksEach);
    assertEquals(Arrays.toString(expected), Arrays.toString(next));
  }

  @Test
  public void endOfBatchActionsRunAfterTheBatchsTasksOncePerRegistration() throws Exception {
    List<String> events = new ArrayList<>(); // loop thread only until `done`
    CountDownLatch done = new CountDownLatch(1);
    loop.execute(() -> {
      events.add("task0");
      loop.runAtEndOfBatch(() -> events.add("end-a"));
      loop.runAtEndOfBatch(() -> events.add("end-b"));
      Runnable twice = () -> events.add("end-twice");
      loop.runAtEndOfBatch(twice);
      loop.runAtEndOfBatch(twice);
      // Queued from the loop itself, so they join the batch being run.
      for (int i = 1; i <= 5; i++) {
        String name = "task" + i;
        loop.execute(() -> events.add(name));
      }
    });
    // A later batch: the earlier registrations must not run again.
    loop.execute(() -> loop.execute(() -> loop.runAtEndOfBatch(() -> {
      events.add("end-later");
      done.countDown();
    })));
    assertTrue(done.await(AWAIT_SECONDS, TimeUnit.SECONDS));

    int firstEnd = events.indexOf("end-a");
    assertTrue(events.toString(), firstEnd > 0);
    List<String> batch = events.subList(0, firstEnd);
    for (int i = 0; i <= 5; i++) {
      assertTrue("task" + i + " before the end-of-batch actions: " + events,
          batch.contains("task" + i));
    }
    assertEquals(events.toString(),
        Arrays.asList("end-a", "end-b", "end-twice", "end-twice"),
        events.subList(firstEnd, firstEnd + 4));
    assertEquals(events.toString(), 1, count(events, "end-a"));
    assertEquals(events.toString(), 1, count(events, "end-b"));
    assertEquals(events.toString(), 2, count(events, "end-twice"));
    assertEquals("end-later", events.get(events.size() - 1));
  }

  @Test
  public void aLongBatchFlushesEveryTasksBetweenFlushesTasksNotMoreOften() throws Exception {
    int n = 3 * EventLoop.TASKS_BETWEEN_FLUSHES + 10;
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(1);
    List<Integer> flushedAfter = new ArrayList<>(); // loop thread only until `done`
    int[] ran = {0};
    boolean[] registered = {false};
    Runnable flush = () -> {
      registered[0] = false;
      flushedAfter.add(ran[0]);
      if (ran[0] == n) {
        done.countDown();
      }
    };
    // Hold the loop while the batch queues up, so one pass of runTasks sees all of it.
    loop.execute(() -> {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    for (int i = 0; i < n; i++) {
      loop.execute(() -> {
        ran[0]++;
        if (!registered[0]) {
          registered[0] = true;
          loop.runAtEndOfBatch(flush); // A connection asking for a flush after each write.
        }
      });
    }
    release.countDown();
    assertTrue(done.await(AWAIT_SECONDS, TimeUnit.SECONDS));
    int previous = 0;
    for (int at : flushedAfter) {
      assertTrue(flushedAfter.toString(), at - previous <= EventLoop.TASKS_BETWEEN_FLUSHES);
      previous = at;
    }
    // Two passes at most (the first pass's budget was set before the batch was queued), each
    // flushing after every TASKS_BETWEEN_FLUSHES tasks and at its end.
    assertTrue(flushedAfter.toString(), flushedAfter.size() <= 5);
  }

  @Test
  public void endOfBatchActionRegisteredByAnEndOfBatchActionStillRuns() throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    loop.execute(() -> loop.runAtEndOfBatch(() -> loop.runAtEndOfBatch(done::countDown)));
    assertTrue(done.await(AWAIT_SECONDS, TimeUnit.SECONDS));
  }

  @Test
  public void inEventLoopIsTrueOnlyOnTheLoopThread() throws Exception {
    assertFalse(loop.inEventLoop());
    AtomicReference<Boolean> inside = new AtomicReference<>();
    CountDownLatch done = new CountDownLatch(1);
    loop.execute(() -> {
      inside.set(loop.inEventLoop());
      done.countDown();
    });
    assertTrue(done.await(AWAIT_SECONDS, TimeUnit.SECONDS));
    assertTrue(inside.get());
  }

  @Test
  public void aThrowingTaskDoesNotKillTheLoop() throws Exception {
    Logger log = Logger.getLogger(EventLoop.class.getName());
    Level level = log.getLevel();
    log.setLevel(Level.OFF); // the loop logs the failure at SEVERE; keep test output clean
    try {
      AtomicReference<Thread> before = new AtomicReference<>();
      AtomicReference<Thread> after = new AtomicReference<>();
      CountDownLatch done = new CountDownLatch(1);
      loop.execute(() -> before.set(Thread.currentThread()));
      loop.execute(() -> {
        throw new IllegalStateException("planted");
      });
      loop.execute(() -> {
        throw new AssertionError("planted error");
      });
      loop.execute(() -> {
        loop.runAtEndOfBatch(() -> {
          throw new IllegalStateException("planted in end of batch");
        });
      });
      loop.execute(() -> {
        after.set(Thread.currentThread());
        done.countDown();
      });
      assertTrue(done.await(AWAIT_SECONDS, TimeUnit.SECONDS));
      assertSame(before.get(), after.get());
      assertTrue(before.get().isAlive());
      // Still serving new work after the failures.
      CountDownLatch again = new CountDownLatch(1);
      loop.execute(again::countDown);
      assertTrue(again.await(AWAIT_SECONDS, TimeUnit.SECONDS));
    } finally {
      log.setLevel(level);
    }
  }

  @Test
  public void executeAfterShutdownIsRejected() throws Exception {
    group.shutdownAndWait();
    try {
      loop.execute(() -> fail("ran after shutdown"));
      fail("execute after shutdown was accepted");
    } catch (RejectedExecutionException expected) {
      // expected
    }
  }

  @Test
  public void tasksQueuedBeforeShutdownStillRun() throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    loop.execute(done::countDown);
    group.shutdownAndWait();
    assertEquals(0, done.getCount());
  }

  @Test
  public void taskSubmittedWhileTheLoopBlocksInSelectRunsPromptly() throws Exception {
    AtomicReference<Thread> loopThread = new AtomicReference<>();
    CountDownLatch started = new CountDownLatch(1);
    loop.execute(() -> {
      loopThread.set(Thread.currentThread());
      started.countDown();
    });
    assertTrue(started.await(AWAIT_SECONDS, TimeUnit.SECONDS));

    for (int round = 0; round < 20; round++) {
      awaitBlockedInSelect(loopThread.get());
      CountDownLatch ran = new CountDownLatch(1);
      loop.execute(ran::countDown);
      assertTrue("round " + round + ": a task for a sleeping loop did not wake it",
          ran.await(AWAIT_SECONDS, TimeUnit.SECONDS));
    }
  }

  /** Spins (no sleeping) until {@code t} is inside a blocking {@code Selector.select()}. */
  private static void awaitBlockedInSelect(Thread t) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(AWAIT_SECONDS);
    while (System.nanoTime() < deadline) {
      for (StackTraceElement frame : t.getStackTrace()) {
        if (frame.getMethodName().equals("select")
            && frame.getClassName().endsWith("SelectorImpl")) {
          return;
        }
      }
      Thread.onSpinWait();
    }
    fail("the loop never blocked in select(): " + Arrays.toString(t.getStackTrace()));
  }

  private static int count(List<String> events, String name) {
    int n = 0;
    for (String e : events) {
      if (e.equals(name)) {
        n++;
      }
    }
    return n;
  }

  /**
   * A listening socket closed on its loop frees its port at once: a second socket can bind it in
   * the same loop task, before the loop selects again (a plain close would leave the port held
   * until then, and a server restarted on the same port would fail to bind).
   */
  @Test
  public void closeRegisteredFreesTheListeningPortBeforeTheNextSelect() throws Exception {
    AtomicReference<Object> outcome = new AtomicReference<>();
    CountDownLatch done = new CountDownLatch(1);
    loop.execute(() -> {
      try (java.nio.channels.ServerSocketChannel first =
          java.nio.channels.ServerSocketChannel.open()) {
        first.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0));
        first.configureBlocking(false);
        loop.register(first, java.nio.channels.SelectionKey.OP_ACCEPT, key -> {});
        java.net.SocketAddress address = first.getLocalAddress();
        loop.closeRegistered(first);
        try (java.nio.channels.ServerSocketChannel second =
            java.nio.channels.ServerSocketChannel.open()) {
          second.bind(address);
          outcome.set(second.getLocalAddress());
        }
      } catch (Exception e) {
        outcome.set(e);
      } finally {
        done.countDown();
      }
    });
    assertTrue(done.await(AWAIT_SECONDS, TimeUnit.SECONDS));
    assertTrue("rebinding failed: " + outcome.get(),
        outcome.get() instanceof java.net.InetSocketAddress);
  }
}
