package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.grpc.internal.ReadableBuffer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The budget's counters, its parsing, its wake-ups, and reserve/release races on real threads. */
public class LeanMemoryBudgetTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Test
  public void parsesPlainBytesAndBinaryUnits() {
    assertEquals(123, LeanMemoryBudget.parseBytes("123"));
    assertEquals(512L << 10, LeanMemoryBudget.parseBytes("512k"));
    assertEquals(32L << 20, LeanMemoryBudget.parseBytes("32m"));
    assertEquals(32L << 20, LeanMemoryBudget.parseBytes(" 32M "));
    assertEquals(1L << 30, LeanMemoryBudget.parseBytes("1g"));
    assertNull(LeanMemoryBudget.fromProperty(null));
    assertNull(LeanMemoryBudget.fromProperty(" "));
    assertEquals(64L << 20, LeanMemoryBudget.fromProperty("64m").limitBytes());
  }

  @Test
  public void badPropertyValuesNameTheProperty() {
    for (String bad : new String[] {"", "m", "-1", "0", "12x", "1.5g", "99999999999g"}) {
      IllegalArgumentException e =
          assertThrows(bad, IllegalArgumentException.class, () -> LeanMemoryBudget.parseBytes(bad));
      assertTrue(e.getMessage(), e.getMessage().contains("grpclean.memoryBudget"));
    }
    assertThrows(IllegalArgumentException.class, () -> LeanMemoryBudget.of(0));
  }

  @Test
  public void tryReserveStopsAtTheLimitAndPeakRemembersTheMost() {
    LeanMemoryBudget b = LeanMemoryBudget.of(1000);
    assertEquals(750, b.pressureBytes());
    assertTrue(b.tryReserve(600));
    assertFalse(b.isUnderPressure());
    assertTrue(b.tryReserve(400));
    assertTrue(b.isExhausted());
    assertFalse(b.tryReserve(1));
    assertEquals(1000, b.usedBytes());
    b.release(700);
    assertEquals(300, b.usedBytes());
    assertEquals(1000, b.peakBytes());
    b.reserve(900); // bytes already held are charged even past the limit
    assertEquals(1200, b.usedBytes());
    assertEquals(1200, b.peakBytes());
    b.release(1200);
    assertEquals(0, b.usedBytes());
    assertThrows(IllegalStateException.class, () -> b.release(1));
  }

  @Test
  public void partsOfLargeMessagesStopAtPressureWholeSmallOnesAtTheLimit() {
    long limit = 1L << 20;
    LeanMemoryBudget b = LeanMemoryBudget.of(limit);
    int chunk = 64 * 1024;
    int parts = 0;
    while (b.tryReserveOutbound(chunk, false)) {
      parts++;
    }
    // The part that started below the mark may pass it; none starts above it.
    assertTrue(b.isUnderPressure());
    assertTrue(b.usedBytes() < b.pressureBytes() + chunk);
    assertEquals((b.pressureBytes() + chunk - 1) / chunk, parts);
    long small = 0;
    while (b.tryReserveOutbound(1024, true)) {
      small += 1024;
    }
    assertTrue("whole small messages fill up to the limit", limit - b.usedBytes() < 1024);
    assertTrue(small > 0);
    assertFalse(b.tryReserveOutbound(1, true));
  }

  @Test
  public void waiterRunsWhenUsageFallsBelowPressureNotBefore() {
    LeanMemoryBudget b = LeanMemoryBudget.of(1000);
    AtomicInteger runs = new AtomicInteger();
    b.runWhenBelowPressure(runs::incrementAndGet);
    assertEquals("below pressure: runs at once", 1, runs.get());
    b.reserve(900);
    b.runWhenBelowPressure(runs::incrementAndGet);
    assertEquals(1, runs.get());
    b.release(100); // 800: still under pressure
    assertEquals(1, runs.get());
    b.release(100); // 700: below the mark
    assertEquals(2, runs.get());
    b.release(700);
    assertEquals("a waiter runs once", 2, runs.get());
  }

  @Test
  public void concurrentReserveAndReleaseNeverPassTheLimitAndBalance() throws Exception {
    long limit = 100_000;
    LeanMemoryBudget b = LeanMemoryBudget.of(limit);
    int threads = 4;
    int rounds = 200_000;
    AtomicLong overLimit = new AtomicLong();
    AtomicLong granted = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch start = new CountDownLatch(1);
    Thread watcher = new Thread(() -> {
      while (!stop.get()) {
        if (b.usedBytes() > limit) {
          overLimit.incrementAndGet();
        }
      }
    });
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      workers.add(new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        List<Integer> held = new ArrayList<>();
        for (int i = 0; i < rounds; i++) {
          int n = 1 + r.nextInt(20_000);
          if (b.tryReserve(n)) {
            granted.incrementAndGet();
            held.add(n);
          }
          if (held.size() > 3 || (!held.isEmpty() && r.nextBoolean())) {
            b.release(held.remove(held.size() - 1));
          }
        }
        for (int n : held) {
          b.release(n);
        }
      }));
    }
    watcher.start();
    workers.forEach(Thread::start);
    start.countDown();
    for (Thread w : workers) {
      w.join();
    }
    stop.set(true);
    watcher.join();
    assertEquals(0, overLimit.get());
    assertEquals(0, b.usedBytes());
    assertTrue(b.peakBytes() <= limit);
    assertTrue("the race really contended for the limit", b.peakBytes() > limit - 20_000);
    assertTrue(granted.get() > 0);
  }

  @Test
  public void noWakeUpIsLostBetweenWaitersAndReleasers() throws Exception {
    LeanMemoryBudget b = LeanMemoryBudget.of(1000);
    int waiters = 20_000;
    AtomicInteger registered = new AtomicInteger();
    AtomicInteger ran = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    Thread churn = new Thread(() -> {
      // Crosses the pressure mark up and down as fast as it can.
      while (!stop.get()) {
        b.reserve(900);
        b.release(900);
      }
    });
    Thread waiting = new Thread(() -> {
      for (int i = 0; i < waiters; i++) {
        registered.incrementAndGet();
        b.runWhenBelowPressure(ran::incrementAndGet);
      }
    });
    churn.start();
    waiting.start();
    waiting.join();
    stop.set(true);
    churn.join();
    assertEquals(0, b.usedBytes());
    // Below pressure now: every waiter registered must have run, each exactly once.
    assertEquals(registered.get(), ran.get());
  }

  @Test
  public void accountsRollUpToTheConnectionAndSayWhenEmpty() {
    LeanMemoryBudget b = LeanMemoryBudget.of(1 << 20);
    AtomicInteger empties = new AtomicInteger();
    BudgetAccount connection = BudgetAccount.forConnection(b, empties::incrementAndGet);
    AtomicInteger streamEmpties = new AtomicInteger();
    BudgetAccount s1 = BudgetAccount.forStream(connection, streamEmpties::incrementAndGet);
    BudgetAccount s2 = BudgetAccount.forStream(connection, null);
    s1.charge(100);
    s2.charge(50);
    assertEquals(150, connection.heldBytes());
    assertEquals(150, b.usedBytes());
    s1.release(60);
    assertEquals(0, streamEmpties.get());
    s1.release(40);
    assertEquals("the stream's account said it is empty", 1, streamEmpties.get());
    assertEquals(0, empties.get());
    s2.release(50);
    assertEquals(1, empties.get());
    assertEquals(0, b.usedBytes());
  }

  @Test
  public void inboundCopiesChargeWhatTheyHoldUntilClosed() {
    LeanMemoryBudget b = LeanMemoryBudget.of(1 << 20);
    BudgetAccount connection = BudgetAccount.forConnection(b, () -> { });
    BudgetAccount stream = BudgetAccount.forStream(connection, null);
    ReadableBuffer small = InboundData.copyOf(ByteBuffer.allocate(100), stream);
    assertEquals(100, b.usedBytes());
    ReadableBuffer large = InboundData.copyOf(ByteBuffer.allocate(5000), stream);
    // 5,000 bytes live in an 8 KiB pool class: the class is what is held.
    assertEquals(100 + 8192, b.usedBytes());
    ReadableBuffer slice = large.readBytes(1000);
    large.close();
    assertEquals("a slice keeps the lease", 100 + 8192, b.usedBytes());
    slice.close();
    small.close();
    small.close();
    assertEquals(0, b.usedBytes());
    assertEquals(0, stream.heldBytes());
  }

  @Test
  public void promisesCountAgainstTheCeilingUntilReturned() {
    LeanMemoryBudget b = LeanMemoryBudget.of(1000);
    b.reserve(500);
    assertTrue(b.tryPromise(300, 875));
    assertFalse("500 used + 300 promised + 100 > 875", b.tryPromise(100, 875));
    assertEquals("a promise is not a charge", 500, b.usedBytes());
    b.unpromise(300);
    assertTrue(b.tryPromise(100, 875));
    b.unpromise(100);
    assertEquals(0, b.promisedBytes());
    b.release(500);
  }

  @Test
  public void heapPoolKeepsNothingWhileTheBudgetIsAtOrAboveHalf() {
    dev.grpclean.transport.pool.BufferPool pool =
        new dev.grpclean.transport.pool.BufferPool("kept", false, 1 << 20, true);
    LeanMemoryBudget b = LeanMemoryBudget.of(1000, pool);
    assertEquals(500, b.halfBytes());
    ByteBuffer first = pool.lease(4096);
    ByteBuffer second = pool.lease(4096);
    pool.release(first);
    assertEquals(4096, pool.pooledBytes());

    b.reserve(499);
    assertEquals("below half: the pool keeps", 4096, pool.pooledBytes());
    assertTrue(b.tryReserve(1)); // 500: half reached
    assertTrue(pool.isKeepingSuspended());
    assertEquals("what it kept is dropped at once", 0, pool.pooledBytes());
    pool.release(second);
    assertEquals("and a release keeps nothing", 0, pool.pooledBytes());
    b.reserve(600); // on to 1100, past the limit: still one suspension
    b.release(599);
    assertTrue("501 used", pool.isKeepingSuspended());
    b.release(1);
    assertTrue("500 used is half", pool.isKeepingSuspended());
    b.release(1);
    assertFalse("499 used", pool.isKeepingSuspended());
    ByteBuffer third = pool.lease(4096);
    pool.release(third);
    assertEquals("below half it keeps again", 4096, pool.pooledBytes());
    assertTrue(b.tryReserveOutbound(400, true)); // 899: the outbound path suspends it too
    assertEquals(0, pool.pooledBytes());
    b.release(899);
    assertFalse(pool.isKeepingSuspended());
    pool.assertNoLeaks();
  }

  /**
   * Threads charge and release across the half mark at random: each crossing upwards suspends
   * the pool's keeping and each crossing downwards ends one, so when all is given back no
   * suspension is left, and whenever usage is at or above half (read while no thread moves
   * it) the pool keeps nothing.
   */
  @Test
  public void crossingsOfHalfPairUpOnRealThreads() throws Exception {
    dev.grpclean.transport.pool.BufferPool pool =
        new dev.grpclean.transport.pool.BufferPool("kept", false, 1 << 20, false);
    LeanMemoryBudget b = LeanMemoryBudget.of(10_000, pool);
    int threads = 4;
    for (int round = 0; round < 50; round++) {
      CountDownLatch start = new CountDownLatch(1);
      List<Thread> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        Thread w = new Thread(() -> {
          try {
            start.await();
          } catch (InterruptedException e) {
            return;
          }
          ThreadLocalRandom random = ThreadLocalRandom.current();
          for (int i = 0; i < 2_000; i++) {
            long n = 1 + random.nextInt(3_000);
            if (random.nextBoolean()) {
              b.reserve(n);
            } else if (!b.tryReserve(n)) {
              continue;
            }
            pool.release(pool.lease(4096));
            b.release(n);
          }
        });
        workers.add(w);
        w.start();
      }
      start.countDown();
      for (Thread w : workers) {
        w.join();
      }
      assertEquals(0, b.usedBytes());
      assertFalse("round " + round, pool.isKeepingSuspended());
      b.reserve(5_000);
      assertTrue(pool.isKeepingSuspended());
      assertEquals(0, pool.pooledBytes());
      b.release(5_000);
      assertFalse(pool.isKeepingSuspended());
    }
  }

  @Test
  public void pressureIsLoggedOnceWhenFirstHitThenRateLimited() {
    java.util.logging.Logger logger =
        java.util.logging.Logger.getLogger(LeanMemoryBudget.class.getName());
    List<java.util.logging.LogRecord> records =
        java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.logging.Handler handler = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord record) {
        records.add(record);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    logger.addHandler(handler);
    try {
      LeanMemoryBudget b = LeanMemoryBudget.of(1000);
      b.reserve(700);
      assertEquals("below the pressure mark: quiet", 0, records.size());
      b.reserve(100);
      assertEquals("first hit: one line", 1, records.size());
      assertEquals(java.util.logging.Level.WARNING, records.get(0).getLevel());
      assertTrue(records.get(0).getMessage(),
          records.get(0).getMessage().contains(LeanMemoryBudget.PROPERTY));
      b.release(800);
      b.reserve(800);
      assertFalse(b.tryReserve(500));
      b.streamRefused();
      assertEquals("hit again within the period: no new line", 1, records.size());
      b.release(800);
    } finally {
      logger.removeHandler(handler);
    }
  }
}
