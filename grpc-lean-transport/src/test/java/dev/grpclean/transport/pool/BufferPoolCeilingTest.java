package dev.grpclean.transport.pool;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assume.assumeTrue;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The ceiling bounds what a pool owns, leased or kept (its members); buffers beyond it are
 * one-off; a direct pool built with {@code freeDropped} frees the memory of what it does not keep.
 */
public class BufferPoolCeilingTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final int KIB = 1024;

  @Test
  public void ceilingBoundsLeasedPlusKeptAndOneOffsAreNotKept() {
    BufferPool pool = new BufferPool("ceiling", false, 8 * KIB, true);
    ByteBuffer a = pool.lease(4 * KIB);
    ByteBuffer b = pool.lease(4 * KIB);
    assertEquals("two members own the ceiling", 8 * KIB, pool.ownedBytes());
    ByteBuffer oneOff = pool.lease(4 * KIB);
    assertEquals("a third lease is one-off", 8 * KIB, pool.ownedBytes());
    assertEquals(12 * KIB, pool.leasedBytes());

    pool.release(oneOff);
    assertEquals("the one-off is not kept", 0, pool.pooledBytes());
    pool.release(a);
    pool.release(b);
    assertEquals(8 * KIB, pool.pooledBytes());
    assertEquals(8 * KIB, pool.ownedBytes());
    assertEquals(0, pool.leasedBytes());

    // The members serve the next leases; none is the dropped one-off.
    ByteBuffer first = pool.lease(4 * KIB);
    ByteBuffer second = pool.lease(4 * KIB);
    assertSame(b, first);
    assertSame(a, second);
    assertEquals(12 * KIB, pool.allocatedBytes());
    pool.release(first);
    pool.release(second);
    pool.assertNoLeaks();
  }

  @Test
  public void aOneOffTakesTheFreedPlaceOfAMemberWhenTheHeapPoolReleasesIt() {
    BufferPool pool = new BufferPool("adopt", false, 4 * KIB, false);
    ByteBuffer member = pool.lease(4 * KIB);
    ByteBuffer oneOff = pool.lease(4 * KIB);
    pool.disown(member);
    assertEquals("a disowned member leaves the pool", 0, pool.ownedBytes());
    pool.release(oneOff);
    assertEquals(4 * KIB, pool.pooledBytes());
    assertEquals(4 * KIB, pool.ownedBytes());
    assertSame(oneOff, pool.lease(1));
  }

  @Test
  public void trimAndDecayUncountTheMembersTheyDrop() {
    AtomicLong now = new AtomicLong();
    BufferPool pool = new BufferPool("decaying", false, 64 * KIB, false,
        PoolDecay.of(0, 1_000, now::get, null));
    ByteBuffer a = pool.lease(4 * KIB);
    ByteBuffer b = pool.lease(4 * KIB);
    pool.release(a);
    pool.release(b);
    assertEquals(8 * KIB, pool.ownedBytes());
    now.addAndGet(1_000);
    pool.decayIfDue(); // starts a period: both were reached during the last one
    now.addAndGet(1_000);
    assertEquals(8 * KIB, pool.decayIfDue());
    assertEquals(0, pool.ownedBytes());
    pool.release(pool.lease(4 * KIB));
    assertEquals(4 * KIB, pool.ownedBytes());
    pool.trim();
    assertEquals(0, pool.ownedBytes());
    assertEquals(0, pool.pooledBytes());
  }

  @Test
  public void directPoolFreesOneOffsAndDroppedBuffersButNeverDisownedOnes() {
    assumeTrue("this JVM lets a direct buffer be freed at once", DirectMemory.canFree());
    BufferPool pool = new BufferPool("freeing", true, 4 * KIB, true, null, true);
    ByteBuffer member = pool.lease(4 * KIB);
    ByteBuffer oneOff = pool.lease(4 * KIB);
    pool.release(oneOff);
    assertEquals("the one-off is freed on release", 4 * KIB, pool.freedBytes());
    pool.release(member);
    assertEquals("the member is kept, not freed", 4 * KIB, pool.freedBytes());
    assertEquals(4 * KIB, pool.pooledBytes());

    ByteBuffer again = pool.lease(4 * KIB);
    assertSame(member, again);
    ByteBuffer disowned = pool.lease(4 * KIB); // one-off: the member is leased
    pool.disown(disowned);
    disowned.putInt(0, 42); // a disowned buffer may still be written: never freed
    assertEquals(42, disowned.getInt(0));
    assertEquals(4 * KIB, pool.freedBytes());

    pool.release(again);
    pool.trim();
    assertEquals("trim frees what it drops", 8 * KIB, pool.freedBytes());
    ByteBuffer oversized = pool.lease(BufferPool.MAX_CLASS_BYTES + 1);
    pool.release(oversized);
    assertEquals(8 * KIB + BufferPool.MAX_CLASS_BYTES + 1, pool.freedBytes());
    pool.assertNoLeaks();
  }

  /** A freeing pool never adopts at release: a one-off released twice must not be leased again. */
  @Test
  public void freeingPoolNeverAdoptsAOneOffAtRelease() {
    BufferPool pool = new BufferPool("no-adopt", true, 4 * KIB, false, null, true);
    ByteBuffer member = pool.lease(4 * KIB);
    ByteBuffer oneOff = pool.lease(4 * KIB);
    pool.disown(member);
    pool.release(oneOff);
    assertEquals(0, pool.pooledBytes());
    assertEquals(0, pool.ownedBytes());
    ByteBuffer next = pool.lease(4 * KIB);
    assertNotSame(oneOff, next);
    assertEquals(4 * KIB, pool.ownedBytes());
    pool.release(next);
    assertEquals(4 * KIB, pool.pooledBytes());
  }

  @Test
  public void onlyADirectPoolCanFreeWhatItDrops() {
    assertThrows(IllegalArgumentException.class,
        () -> new BufferPool("heap", false, 4 * KIB, false, null, true));
  }
}
