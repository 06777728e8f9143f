package dev.grpclean.transport.pool;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class PoolsTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Test
  public void ioPoolIsSharedAndDirect() {
    assertSame(Pools.io(), Pools.io());
    assertTrue(Pools.io().isDirect());
    assertEquals("io", Pools.io().name());
    assertEquals(
        Long.getLong(Pools.IO_MAX_POOLED_BYTES_PROPERTY, 8L << 20).longValue(),
        Pools.io().maxPooledBytes());
  }

  @Test
  public void heapPoolIsSharedAndOnHeap() {
    assertSame(Pools.heap(), Pools.heap());
    assertFalse(Pools.heap().isDirect());
    assertEquals("heap", Pools.heap().name());
    assertEquals(
        Long.getLong(Pools.HEAP_MAX_POOLED_BYTES_PROPERTY, 16L << 20).longValue(),
        Pools.heap().maxPooledBytes());
  }

  @Test
  public void inboundPoolIsSharedDirectAndDecaysToNothing() {
    assertSame(Pools.inbound(), Pools.inbound());
    assertTrue(Pools.inbound().isDirect());
    assertEquals("inbound", Pools.inbound().name());
    assertEquals(
        Long.getLong(Pools.INBOUND_MAX_POOLED_BYTES_PROPERTY, 2L << 20).longValue(),
        Pools.inbound().maxPooledBytes());
    assertEquals(0, Pools.inbound().decay().floorBytes());
  }

  @Test
  public void outboundPoolIsSharedAndDirect() {
    assertSame(Pools.outbound(), Pools.outbound());
    assertTrue(Pools.outbound().isDirect());
    assertEquals("outbound", Pools.outbound().name());
    assertEquals(
        Long.getLong(Pools.OUTBOUND_MAX_POOLED_BYTES_PROPERTY, 16L << 20).longValue(),
        Pools.outbound().maxPooledBytes());
  }
}
