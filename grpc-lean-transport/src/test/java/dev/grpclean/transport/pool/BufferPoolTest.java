package dev.grpclean.transport.pool;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class BufferPoolTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final int KIB = 1024;
  private static final int MIB = 1024 * KIB;

  private final BufferPool pool = new BufferPool("test", false, 1 * MIB, false);
  private final BufferPool leakPool = new BufferPool("leaky", false, 1 * MIB, true);

  @Test
  public void leaseRoundsUpToSizeClass() {
    assertEquals(4096, leaseAndRelease(1));
    assertEquals(4096, leaseAndRelease(4096));
    assertEquals(8192, leaseAndRelease(4097));
    assertEquals(64 * KIB, leaseAndRelease(40_000));
    assertEquals(MIB, leaseAndRelease(MIB));
  }

  @Test
  public void oversizedLeaseIsExactCountedAndNeverPooled() {
    ByteBuffer big = pool.lease(MIB + 1);
    assertEquals(MIB + 1, big.capacity());
    assertEquals(MIB + 1, pool.leasedBytes());
    assertEquals(MIB + 1, pool.allocatedBytes());

    pool.release(big);
    assertEquals(new PoolStats(0, 0, 0, 1, MIB + 1), pool.stats());

    assertNotSame(big, pool.lease(MIB + 1));
  }

  @Test
  public void leaseRejectsNonPositiveCapacity() {
    assertThrows(IllegalArgumentException.class, () -> pool.lease(0));
    assertThrows(IllegalArgumentException.class, () -> pool.lease(-1));
    assertEquals(0, pool.totalLeases());
  }

  @Test
  public void disownedBufferStopsCountingAndIsNeverPooled() {
    BufferPool tracking = new BufferPool("tracking", false, 1 << 20, true);
    ByteBuffer kept = tracking.lease(100);
    tracking.disown(kept);
    assertEquals(0, tracking.leasedBytes());
    assertEquals(0, tracking.leasesOutstanding());
    assertEquals(0, tracking.pooledBytes());
    tracking.assertNoLeaks();
    assertNotSame(kept, tracking.lease(100));
    assertThrows(IllegalStateException.class, () -> tracking.disown(kept));
    assertThrows(IllegalStateException.class, () -> tracking.release(kept));
  }

  @Test
  public void releasedBuffersAreReusedMostRecentFirst() {
    ByteBuffer first = pool.lease(100);
    ByteBuffer second = pool.lease(100);
    pool.release(first);
    pool.release(second);

    assertSame(second, pool.lease(4096));
    assertSame(first, pool.lease(1));
    assertEquals(8 * KIB, pool.allocatedBytes()); // Only the first two leases allocated.
  }

  @Test
  public void reusedBufferIsClearedAndBigEndian() {
    ByteBuffer buffer = pool.lease(4096);
    buffer.order(ByteOrder.LITTLE_ENDIAN).putInt(7).flip();
    pool.release(buffer);

    ByteBuffer again = pool.lease(4096);
    assertSame(buffer, again);
    assertEquals(0, again.position());
    assertEquals(again.capacity(), again.limit());
    assertEquals(ByteOrder.BIG_ENDIAN, again.order());
  }

  @Test
  public void countersExactAcrossLeaseReleaseSequence() {
    ByteBuffer a = pool.lease(4096);
    ByteBuffer b = pool.lease(10_000); // 16 KiB
    assertEquals(new PoolStats(20 * KIB, 2, 0, 2, 20 * KIB), pool.stats());

    pool.release(b);
    assertEquals(new PoolStats(4 * KIB, 1, 16 * KIB, 2, 20 * KIB), pool.stats());

    ByteBuffer c = pool.lease(16 * KIB); // Reuses b: no new allocation.
    assertEquals(new PoolStats(20 * KIB, 2, 0, 3, 20 * KIB), pool.stats());

    pool.release(a);
    pool.release(c);
    assertEquals(new PoolStats(0, 0, 20 * KIB, 3, 20 * KIB), pool.stats());
    pool.assertNoLeaks();
  }

  @Test
  public void releaseBeyondCapDropsBuffer() {
    BufferPool capped = new BufferPool("capped", false, 12 * KIB, false);
    ByteBuffer small1 = capped.lease(4096);
    ByteBuffer small2 = capped.lease(4096);
    ByteBuffer small3 = capped.lease(4096);
    ByteBuffer medium = capped.lease(8192);

    capped.release(small1);
    capped.release(small2);
    capped.release(small3);
    assertEquals(12 * KIB, capped.pooledBytes());
    capped.release(medium); // Would make 20 KiB pooled: dropped.
    assertEquals(12 * KIB, capped.pooledBytes());
    assertEquals(0, capped.leasedBytes());

    long allocatedBefore = capped.allocatedBytes();
    assertNotSame(medium, capped.lease(8192));
    assertEquals(allocatedBefore + 8 * KIB, capped.allocatedBytes());
  }

  @Test
  public void zeroCapPoolsNothing() {
    BufferPool unpooled = new BufferPool("unpooled", false, 0, false);
    unpooled.release(unpooled.lease(1));
    assertEquals(new PoolStats(0, 0, 0, 1, 4 * KIB), unpooled.stats());
  }

  @Test
  public void trimDropsEveryPooledBuffer() {
    ByteBuffer a = pool.lease(4096);
    ByteBuffer b = pool.lease(64 * KIB);
    ByteBuffer leased = pool.lease(8192);
    pool.release(a);
    pool.release(b);
    assertEquals(68 * KIB, pool.pooledBytes());

    pool.trim();
    assertEquals(0, pool.pooledBytes());
    assertEquals(8 * KIB, pool.leasedBytes()); // Leases are untouched.
    assertNotSame(a, pool.lease(4096));
    pool.release(leased);
  }

  @Test
  public void doubleReleaseOfOlderBufferDetectedInLeakMode() {
    ByteBuffer a = leakPool.lease(4096);
    ByteBuffer b = leakPool.lease(4096);
    ByteBuffer stillLeased = leakPool.lease(4096);
    leakPool.release(a);
    leakPool.release(b); // a is no longer on top of the free list.
    PoolStats before = leakPool.stats();

    assertThrows(IllegalStateException.class, () -> leakPool.release(a));
    assertEquals(before, leakPool.stats());
    leakPool.release(stillLeased);
  }

  @Test
  public void sameShapedForeignBufferDetectedInLeakMode() {
    ByteBuffer leased = leakPool.lease(4096);
    assertThrows(IllegalStateException.class, () -> leakPool.release(ByteBuffer.allocate(4096)));
    assertThrows(IllegalStateException.class, () -> leakPool.release(leased.duplicate()));
    assertEquals(1, leakPool.leasesOutstanding());
    leakPool.release(leased);
  }

  @Test
  public void immediateDoubleReleaseDetectedWithoutLeakMode() {
    ByteBuffer a = pool.lease(4096);
    ByteBuffer b = pool.lease(4096); // Keeps the counters from catching it on their own.
    pool.release(a);
    PoolStats before = pool.stats();

    assertThrows(IllegalStateException.class, () -> pool.release(a));
    assertEquals(before, pool.stats());
    assertSame(a, pool.lease(4096));
    assertNotSame(a, pool.lease(4096)); // a was pooled once, not twice.
    pool.release(b);
  }

  @Test
  public void overReleaseNeverDrivesCountersNegative() {
    ByteBuffer a = pool.lease(4096);
    pool.release(a);
    pool.lease(8192); // a is no longer on top of any list it could be found on.

    ByteBuffer foreign = ByteBuffer.allocate(MIB); // Passes the shape check.
    assertThrows(IllegalStateException.class, () -> pool.release(foreign));
    assertEquals(8 * KIB, pool.leasedBytes());
    assertEquals(1, pool.leasesOutstanding());
  }

  @Test
  public void wrongShapedBufferRejected() {
    ByteBuffer leased = pool.lease(4096);
    assertThrows(IllegalStateException.class, () -> pool.release(ByteBuffer.allocateDirect(4096)));
    assertThrows(IllegalStateException.class, () -> pool.release(ByteBuffer.allocate(5000)));
    assertThrows(IllegalStateException.class, () -> pool.release(ByteBuffer.allocate(2048)));
    assertThrows(IllegalStateException.class, () -> pool.release(leased.asReadOnlyBuffer()));
    assertEquals(4 * KIB, pool.leasedBytes());
    pool.release(leased);
  }

  @Test
  public void assertNoLeaksListsLeaseSite() {
    ByteBuffer leaked = leakPool.lease(5000);

    List<String> sites = leakPool.outstandingLeaseSites();
    assertEquals(1, sites.size());
    assertTrue(sites.get(0), sites.get(0).contains("8KiB lease from pool 'leaky'"));
    try {
      leakPool.assertNoLeaks();
      fail("expected AssertionError");
    } catch (AssertionError e) {
      assertTrue(e.getMessage(), e.getMessage().contains("1 outstanding lease"));
      assertTrue(e.getMessage(), e.getMessage().contains("assertNoLeaksListsLeaseSite"));
    }

    leakPool.release(leaked);
    leakPool.assertNoLeaks();
    assertTrue(leakPool.outstandingLeaseSites().isEmpty());
  }

  @Test
  public void assertNoLeaksWithoutLeakModeReportsCount() {
    ByteBuffer leaked = pool.lease(1);
    try {
      pool.assertNoLeaks();
      fail("expected AssertionError");
    } catch (AssertionError e) {
      assertTrue(e.getMessage(), e.getMessage().contains("1 outstanding lease(s), 4KiB"));
    }
    assertTrue(pool.outstandingLeaseSites().isEmpty());
    pool.release(leaked);
    pool.assertNoLeaks();
  }

  @Test
  public void leakDetectionFollowsSystemPropertyAtConstruction() {
    String saved = System.getProperty(BufferPool.LEAK_DETECTION_PROPERTY);
    try {
      System.setProperty(BufferPool.LEAK_DETECTION_PROPERTY, "true");
      BufferPool detecting = new BufferPool("on", false, 0);
      System.setProperty(BufferPool.LEAK_DETECTION_PROPERTY, "false");
      BufferPool plain = new BufferPool("off", false, 0);

      assertTrue(detecting.isLeakDetectionEnabled());
      assertFalse(plain.isLeakDetectionEnabled());
    } finally {
      if (saved == null) {
        System.clearProperty(BufferPool.LEAK_DETECTION_PROPERTY);
      } else {
        System.setProperty(BufferPool.LEAK_DETECTION_PROPERTY, saved);
      }
    }
  }

  @Test
  public void directPoolLeasesDirectBuffers() {
    BufferPool directPool = new BufferPool("direct", true, MIB, true);
    assertTrue(directPool.isDirect());
    assertEquals("direct", directPool.name());
    ByteBuffer buffer = directPool.lease(4096);
    assertTrue(buffer.isDirect());
    directPool.release(buffer);
    assertTrue(directPool.lease(1).isDirect());
  }

  @Test
  public void heapPoolLeasesHeapBuffers() {
    assertFalse(pool.isDirect());
    assertFalse(pool.lease(4096).isDirect());
    assertFalse(pool.lease(MIB + 1).isDirect());
  }

  @Test
  public void statsToStringUsesExactUnits() {
    ByteBuffer a = pool.lease(64 * KIB);
    pool.release(a);
    pool.lease(MIB + 1);
    assertEquals(
        "leased=1048577B outstanding=1 pooled=64KiB leases=2 allocated=1114113B",
        pool.stats().toString());
    assertEquals("leased=0B outstanding=0 pooled=0B leases=0 allocated=0B",
        new BufferPool("empty", false, 0).stats().toString());
  }

  @Test
  public void suspendedPoolDropsWhatItKeptAndKeepsNothingUntilResumed() {
    ByteBuffer a = pool.lease(64 * KIB);
    ByteBuffer b = pool.lease(4 * KIB);
    ByteBuffer c = pool.lease(64 * KIB);
    pool.release(a);
    pool.release(b);
    assertEquals(68 * KIB, pool.pooledBytes());

    pool.suspendKeeping();
    assertTrue(pool.isKeepingSuspended());
    assertEquals(0, pool.pooledBytes());
    pool.suspendKeeping(); // a second holder (another budget)
    pool.release(c);
    assertEquals(0, pool.pooledBytes());
    assertEquals(0, pool.leasedBytes());
    ByteBuffer d = pool.lease(64 * KIB); // leases still work, from a fresh allocation
    assertNotSame(a, d);
    assertNotSame(c, d);
    assertEquals(3 * 64 * KIB + 4 * KIB, pool.allocatedBytes());

    pool.resumeKeeping();
    assertTrue("one holder left", pool.isKeepingSuspended());
    pool.release(d);
    assertEquals(0, pool.pooledBytes());

    pool.resumeKeeping();
    assertFalse(pool.isKeepingSuspended());
    ByteBuffer e = pool.lease(64 * KIB);
    pool.release(e);
    assertEquals(64 * KIB, pool.pooledBytes());
    assertSame(e, pool.lease(64 * KIB));
  }

  /**
   * Releases on two threads race with a suspension on a third: once suspendKeeping() has
   * returned, the pool holds nothing, whatever was released before, during or after it.
   */
  @Test
  public void noReleaseRacingWithASuspensionIsKept() throws Exception {
    BufferPool shared = new BufferPool("race", false, 64 * MIB, true);
    for (int round = 0; round < 200; round++) {
      java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(3);
      java.util.List<Thread> threads = new java.util.ArrayList<>();
      java.util.concurrent.atomic.AtomicReference<Throwable> failure =
          new java.util.concurrent.atomic.AtomicReference<>();
      for (int t = 0; t < 2; t++) {
        ByteBuffer[] leases = new ByteBuffer[64];
        for (int i = 0; i < leases.length; i++) {
          leases[i] = shared.lease(4 * KIB << (i % 3));
        }
        threads.add(new Thread(() -> {
          try {
            start.await();
            for (ByteBuffer lease : leases) {
              shared.release(lease);
            }
          } catch (Throwable x) {
            failure.compareAndSet(null, x);
          }
        }));
      }
      threads.forEach(Thread::start);
      start.await();
      shared.suspendKeeping();
      long keptRightAfter = shared.pooledBytes();
      for (Thread t : threads) {
        t.join();
      }
      if (failure.get() != null) {
        throw new AssertionError(failure.get());
      }
      assertEquals("round " + round, 0, keptRightAfter);
      assertEquals("round " + round, 0, shared.pooledBytes());
      assertEquals(0, shared.leasesOutstanding());
      shared.resumeKeeping();
      assertFalse(shared.isKeepingSuspended());
    }
  }

  private int leaseAndRelease(int minCapacityBytes) {
    ByteBuffer buffer = pool.lease(minCapacityBytes);
    assertEquals(0, buffer.position());
    assertEquals(buffer.capacity(), buffer.limit());
    pool.release(buffer);
    return buffer.capacity();
  }
}
