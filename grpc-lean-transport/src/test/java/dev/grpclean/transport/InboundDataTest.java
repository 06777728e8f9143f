package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.grpc.internal.ReadableBuffer;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
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
    long before = LeanBuffers.inbound().leasedBytes();
    ReadableBuffer buf = InboundData.copyOf(payload(100));
    assertEquals(before, LeanBuffers.inbound().leasedBytes());
    byte[] out = new byte[100];
    buf.readBytes(out, 0, 100);
    assertArrayEquals(payload(100).array(), out);
    buf.close();
  }

  @Test
  public void largePayloadLeaseReturnsWhenTheLastSliceCloses() {
    long before = LeanBuffers.inbound().leasedBytes();
    ByteBuffer src = payload(16384);
    ReadableBuffer buf = InboundData.copyOf(src);
    assertEquals("the borrowed source is consumed", 0, src.remaining());
    assertEquals(before + 16384, LeanBuffers.inbound().leasedBytes());
    ReadableBuffer head = buf.readBytes(10);
    ReadableBuffer middle = buf.readBytes(20);
    assertEquals(16384 - 30, buf.readableBytes());
    buf.close();
    buf.close();
    head.close();
    assertEquals("a slice still holds the lease", before + 16384,
        LeanBuffers.inbound().leasedBytes());
    assertEquals(10, middle.readUnsignedByte());
    middle.close();
    assertEquals(before, LeanBuffers.inbound().leasedBytes());
  }

  @Test
  public void markResetAndByteBufferAccessSeeTheRightBytes() {
    ReadableBuffer buf = InboundData.copyOf(payload(5000));
    buf.skipBytes(7);
    buf.mark();
    assertEquals(7, buf.readUnsignedByte());
    buf.reset();
    // The inbound pool is direct: no array, the bytes are reached through a ByteBuffer view.
    assertFalse(buf.hasArray());
    assertThrows(UnsupportedOperationException.class, buf::array);
    ByteBuffer view = buf.getByteBuffer();
    assertEquals(5000 - 7, view.remaining());
    assertEquals(7, view.get(view.position()));
    buf.close();
  }

  /** A direct lease written to a stream in 8 KiB steps: every byte, in order, cursor moved. */
  @Test
  public void readBytesToAStreamCopiesEveryByteOfADirectLease() throws Exception {
    int n = 20_000;
    ReadableBuffer buf = InboundData.copyOf(payload(n));
    buf.skipBytes(3);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    buf.readBytes(out, n - 4);
    assertEquals(1, buf.readableBytes());
    byte[] got = out.toByteArray();
    byte[] want = Arrays.copyOfRange(payload(n).array(), 3, n - 1);
    assertArrayEquals(want, got);
    assertEquals((byte) (n - 1), (byte) buf.readUnsignedByte());
    buf.close();
  }

  @Test
  public void readingAClosedBufferThrowsInsteadOfSeeingAnotherLeasesBytes() {
    ReadableBuffer buf = InboundData.copyOf(payload(8192));
    ReadableBuffer slice = buf.readBytes(100);
    buf.close();
    slice.close();
    assertThrows(IllegalStateException.class, buf::readUnsignedByte);
    assertThrows(IllegalStateException.class, () -> buf.readBytes(new byte[1], 0, 1));
    assertThrows(IllegalStateException.class, () -> buf.readBytes(1));
    assertThrows(IllegalStateException.class, buf::getByteBuffer);
    assertThrows(IllegalStateException.class, slice::readUnsignedByte);
    assertThrows(IllegalStateException.class,
        () -> slice.readBytes(new ByteArrayOutputStream(), 1));
  }

  /**
   * What grpc-core does across threads: the deframer slices a message out of a frame's buffer
   * and closes the buffer on the transport thread while the application thread still parses the
   * slice. Meanwhile other frames lease and overwrite buffers of the same pool class: had the
   * root's close returned the lease, the pool's LIFO would hand it out at once and the reader
   * would see 0x55 instead of its bytes.
   */
  @Test
  public void sliceReadOnAnotherThreadSurvivesTheRootsReleaseAndReuseOfItsClass()
      throws Exception {
    long before = LeanBuffers.inbound().leasedBytes();
    int size = 16384;
    ByteBuffer expected = payload(size);
    for (int round = 0; round < 50; round++) {
      ReadableBuffer root = InboundData.copyOf(payload(size));
      root.skipBytes(1);
      ReadableBuffer slice = root.readBytes(size - 2);
      CountDownLatch reading = new CountDownLatch(1);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread reader = new Thread(() -> {
        try {
          byte[] out = new byte[size - 2];
          reading.countDown();
          for (int i = 0; i < out.length; i++) {
            out[i] = (byte) slice.readUnsignedByte();
          }
          byte[] want = Arrays.copyOfRange(expected.array(), 1, size - 1);
          if (!Arrays.equals(want, out)) {
            throw new AssertionError("the slice saw bytes of another lease");
          }
        } catch (Throwable t) {
          failure.set(t);
        } finally {
          slice.close();
        }
      });
      reader.start();
      reading.await();
      root.close();
      // Frames arriving meanwhile: their leases come from the same class and are overwritten.
      List<ReadableBuffer> others = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        ByteBuffer junk = ByteBuffer.allocate(size);
        Arrays.fill(junk.array(), (byte) 0x55);
        others.add(InboundData.copyOf(junk));
      }
      reader.join();
      for (ReadableBuffer other : others) {
        other.close();
      }
      if (failure.get() != null) {
        throw new AssertionError(failure.get());
      }
    }
    assertEquals("every lease returned once its last reader closed", before,
        LeanBuffers.inbound().leasedBytes());
  }

  /**
   * The pinning bound: a payload of n bytes leases at most 2n (its pool class) and one under 4 KiB
   * leases nothing, so a partial message (a run of payloads) pins at most twice its own bytes.
   */
  @Test
  public void payloadsPinAtMostTwiceTheirBytes() {
    long before = LeanBuffers.inbound().leasedBytes();
    int[] sizes = {1, 100, 4095, 4096, 4097, 8191, 8192, 12_000, 16_383, 16_384, 16_385, 65_537,
        1 << 20};
    List<ReadableBuffer> held = new ArrayList<>();
    long bytes = 0;
    for (int n : sizes) {
      long leasedBefore = LeanBuffers.inbound().leasedBytes();
      held.add(InboundData.copyOf(payload(n)));
      long leased = LeanBuffers.inbound().leasedBytes() - leasedBefore;
      assertTrue(n + " bytes leased " + leased, leased <= 2L * n);
      assertTrue(n + " bytes leased " + leased,
          n < InboundData.MIN_POOLED_BYTES ? leased == 0 : leased >= n);
      bytes += n;
    }
    assertTrue(LeanBuffers.inbound().leasedBytes() - before <= 2 * bytes);
    for (ReadableBuffer b : held) {
      b.close();
    }
    assertEquals(before, LeanBuffers.inbound().leasedBytes());
  }
}
