package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import io.grpc.internal.ReadableBuffer;
import java.nio.ByteBuffer;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class InboundDataTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static ByteBuffer payload(int n) {
    ByteBuffer b = ByteBuffer.allocate(n);
    for (int i = 0; i < n; i++) {
      b.put((byte) i);
    }
    b.flip();
    return b;
  }

  @Test
  public void smallPayloadIsCopiedWithoutALease() {
    long before = LeanBuffers.heap().leasedBytes();
    ReadableBuffer buf = InboundData.copyOf(payload(100));
    assertEquals(before, LeanBuffers.heap().leasedBytes());
    byte[] out = new byte[100];
    buf.readBytes(out, 0, 100);
    assertArrayEquals(payload(100).array(), out);
    buf.close();
  }

  @Test
  public void largePayloadLeaseReturnsWhenTheLastSliceCloses() {
    long before = LeanBuffers.heap().leasedBytes();
    ByteBuffer src = payload(16384);
    ReadableBuffer buf = InboundData.copyOf(src);
    assertEquals("the borrowed source is consumed", 0, src.remaining());
    assertEquals(before + 16384, LeanBuffers.heap().leasedBytes());
    ReadableBuffer head = buf.readBytes(10);
    ReadableBuffer middle = buf.readBytes(20);
    assertEquals(16384 - 30, buf.readableBytes());
    buf.close();
    buf.close();
    head.close();
    assertEquals("a slice still holds the lease", before + 16384,
        LeanBuffers.heap().leasedBytes());
    assertEquals(10, middle.readUnsignedByte());
    middle.close();
    assertEquals(before, LeanBuffers.heap().leasedBytes());
  }

  @Test
  public void markResetAndArrayAccessSeeTheRightBytes() {
    ReadableBuffer buf = InboundData.copyOf(payload(5000));
    buf.skipBytes(7);
    buf.mark();
    assertEquals(7, buf.readUnsignedByte());
    buf.reset();
    assertEquals(7, buf.array()[buf.arrayOffset()]);
    assertEquals(5000 - 7, buf.getByteBuffer().remaining());
    buf.close();
  }
}
