package dev.grpclean.transport.pool;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** Kept bytes follow recent demand and fall to the floor once it stops; time is a fake clock. */
public class PoolDecayTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final long KIB = 1024;
  private static final long MIB = 1024 * KIB;
  private static final long PERIOD_NANOS = TimeUnit.SECONDS.toNanos(2);
  private static final long FLOOR_BYTES = 512 * KIB;

  private final AtomicLong now = new AtomicLong(1_000);
  /** Tasks the pool asked the fake scheduler for, with their due times. */
  private final Queue<long[]> dueTimes = new ArrayDeque<>();
  private final Queue<Runnable> tasks = new ArrayDeque<>();

  private BufferPool newPool(long maxPooledBytes) {
    return new BufferPool("decaying", true, maxPooledBytes, true,
        PoolDecay.of(FLOOR_BYTES, PERIOD_NANOS, now::get, (task, delayNanos) -> {
          dueTimes.add(new long[] {now.get() + delayNanos});
          tasks.add(task);
        }));
  }

  /** Advances the clock by {@code nanos}, running scheduled tasks as they fall due. */
  private void advance(long nanos) {
    long end = now.get() + nanos;
    while (!dueTimes.isEmpty() && dueTimes.peek()[0] <= end) {
      now.set(Math.max(now.get(), dueTimes.poll()[0]));
      tasks.poll().run();
    }
    now.set(end);
  }

  /** Leases {@code count} buffers of {@code bytes} at once, then releases them all. */
  private static void burst(BufferPool pool, int count, int bytes) {
    List<ByteBuffer> leases = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      leases.add(pool.lease(bytes));
    }
    for (ByteBuffer b : leases) {
      pool.release(b);
    }
  }

  @Test
  public void quietPoolFallsToTheFloorWithinTwoPeriodsOnTheSchedulerAlone() {
    BufferPool pool = newPool(16 * MIB);
    burst(pool, 128, 64 * 1024); // 8 MiB kept after a burst of 128 concurrent reads
    assertEquals(8 * MIB, pool.pooledBytes());
    assertEquals("one delayed check pending, not one per release", 1, tasks.size());

    advance(2 * PERIOD_NANOS);

    assertTrue("kept " + pool.pooledBytes(), pool.pooledBytes() <= FLOOR_BYTES);
    assertEquals("down to the floor, not below", FLOOR_BYTES, pool.pooledBytes());
    assertEquals(8 * MIB - FLOOR_BYTES, pool.decayedBytes());
    assertEquals("no timer left once at the floor", 0, tasks.size());
    pool.assertNoLeaks();
  }

  @Test
  public void steadyDemandKeepsWhatItReusesAndDropsTheSurplus() {
    BufferPool pool = newPool(16 * MIB);
    burst(pool, 64, 64 * 1024); // a 4 MiB spike
    long allocatedAfterSpike = pool.allocatedBytes();
    // Then a steady load that needs 16 buffers at once, over many periods.
    for (int i = 0; i < 40; i++) {
      burst(pool, 16, 64 * 1024);
      advance(PERIOD_NANOS / 4);
    }
    assertEquals("the steady load kept reusing its 16 buffers", allocatedAfterSpike,
        pool.allocatedBytes());
    assertEquals("the spike's surplus is gone, the steady demand kept", 16 * 64 * KIB,
        pool.pooledBytes());
  }

  @Test
  public void decayIsCheckedOnLeaseAndReleaseWithoutAScheduler() {
    BufferPool pool = new BufferPool("noTimer", false, 16 * MIB, true,
        PoolDecay.of(0, PERIOD_NANOS, now::get, null));
    burst(pool, 32, 64 * 1024);
    assertEquals(2 * MIB, pool.pooledBytes());
    now.addAndGet(PERIOD_NANOS);
    assertEquals("first check: everything was leased this period", 0, pool.decayIfDue());
    now.addAndGet(PERIOD_NANOS);
    pool.release(pool.lease(4096)); // any activity runs the due check
    assertEquals(4096, pool.pooledBytes());
    assertEquals(2 * MIB, pool.decayedBytes());
  }

  @Test
  public void ceilingStillHoldsWithDecay() {
    BufferPool pool = newPool(1 * MIB);
    burst(pool, 64, 64 * 1024);
    assertEquals(1 * MIB, pool.pooledBytes());
  }
}
