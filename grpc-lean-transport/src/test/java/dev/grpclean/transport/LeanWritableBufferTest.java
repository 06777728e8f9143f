package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.grpc.internal.WritableBuffer;
import java.nio.ByteBuffer;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The framer buffer's hand-over: delivered, released, or disowned when its stream is gone. */
public class LeanWritableBufferTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private final long baseline = LeanTransportStats.leasedBytes();

  @Test
  public void deliveredBufferCarriesItsLeaseToTheWriter() {
    LeanWritableBuffer.StreamAllocator allocator = new LeanWritableBuffer.StreamAllocator();
    WritableBuffer frame = allocator.allocate(100);
    frame.write(new byte[] {1, 2, 3}, 0, 3);
    assertEquals(LeanWritableBuffer.MIN_BUFFER_BYTES, leasedSinceStart());

    ByteBuffer bytes = ((LeanWritableBuffer) frame).detach();
    assertNotNull(bytes);
    assertEquals(3, bytes.remaining());
    allocator.streamFinished(); // Already handed over: the writer owns it now.
    assertEquals(LeanWritableBuffer.MIN_BUFFER_BYTES, leasedSinceStart());
    LeanBuffers.releaseOutbound(bytes);
    assertEquals(0, leasedSinceStart());
  }

  @Test
  public void bufferHeldWhenTheStreamFinishesIsDisowned() {
    LeanWritableBuffer.StreamAllocator allocator = new LeanWritableBuffer.StreamAllocator();
    WritableBuffer frame = allocator.allocate(100);
    frame.write((byte) 7);

    allocator.streamFinished();
    assertEquals(0, leasedSinceStart());
    frame.write((byte) 8); // The framer may still be writing: the array stays its own.
    assertEquals(2, frame.readableBytes());
    assertNull(((LeanWritableBuffer) frame).detach());
    frame.release();
    assertEquals(0, leasedSinceStart());
  }

  @Test
  public void buffersAfterTheStreamFinishedAreNeverLeased() {
    LeanWritableBuffer.StreamAllocator allocator = new LeanWritableBuffer.StreamAllocator();
    allocator.streamFinished();
    WritableBuffer frame = allocator.allocate(70_000);
    assertEquals(LeanWritableBuffer.MAX_BUFFER_BYTES, frame.writableBytes());
    assertEquals(0, leasedSinceStart());
    assertNull(((LeanWritableBuffer) frame).detach());
    frame.release();
    assertEquals(0, leasedSinceStart());
  }

  @Test
  public void afterDiscardFromNowBuffersHoldNoArrayAndAreNeverLeased() {
    LeanWritableBuffer.StreamAllocator allocator = new LeanWritableBuffer.StreamAllocator();
    allocator.discardFromNow();
    long allocatedBefore = LeanBuffers.outbound().allocatedBytes();
    long leasesBefore = LeanBuffers.outbound().totalLeases();
    WritableBuffer frame = allocator.allocate(1 << 20);
    assertTrue(((LeanWritableBuffer) frame).isDiscarding());
    assertEquals(LeanWritableBuffer.MAX_BUFFER_BYTES, frame.writableBytes());
    frame.write(new byte[40_000], 0, 40_000);
    frame.write((byte) 1);
    assertEquals(40_001, frame.readableBytes());
    assertEquals(LeanWritableBuffer.MAX_BUFFER_BYTES - 40_001, frame.writableBytes());
    assertThrows(java.nio.BufferOverflowException.class,
        () -> frame.write(new byte[30_000], 0, 30_000));
    assertNull(((LeanWritableBuffer) frame).detach());
    frame.release();
    assertEquals(0, leasedSinceStart());
    assertEquals(leasesBefore, LeanBuffers.outbound().totalLeases());
    assertEquals(allocatedBefore, LeanBuffers.outbound().allocatedBytes());
    assertFalse(allocator.refusedAtAllocation());
  }

  /**
   * Under budget pressure a buffer that can hold only part of its message (the framer asks for
   * more than 64 KiB) is refused before anything is leased; one for a message that fits is
   * leased as usual, and so is a large one once the budget is back under its pressure mark.
   */
  @Test
  public void partOfALargeMessageIsRefusedAtAllocationUnderPressure() {
    LeanMemoryBudget budget = LeanMemoryBudget.of(1 << 20, null);
    budget.reserve(budget.pressureBytes());
    LeanWritableBuffer.StreamAllocator small = new LeanWritableBuffer.StreamAllocator(budget);
    WritableBuffer fits = small.allocate(LeanWritableBuffer.MAX_BUFFER_BYTES);
    assertFalse(((LeanWritableBuffer) fits).isDiscarding());
    assertFalse(small.refusedAtAllocation());
    assertEquals(LeanWritableBuffer.MAX_BUFFER_BYTES, leasedSinceStart());
    fits.release();

    LeanWritableBuffer.StreamAllocator large = new LeanWritableBuffer.StreamAllocator(budget);
    WritableBuffer part = large.allocate(LeanWritableBuffer.MAX_BUFFER_BYTES + 1);
    assertTrue(((LeanWritableBuffer) part).isDiscarding());
    assertTrue(large.refusedAtAllocation());
    assertEquals(0, leasedSinceStart());
    budget.release(1);
    // Refused once, the stream discards from then on, whatever the budget does.
    assertTrue(((LeanWritableBuffer) large.allocate(100)).isDiscarding());

    LeanWritableBuffer.StreamAllocator later = new LeanWritableBuffer.StreamAllocator(budget);
    WritableBuffer leased = later.allocate(1 << 20);
    assertFalse(((LeanWritableBuffer) leased).isDiscarding());
    assertEquals(LeanWritableBuffer.MAX_BUFFER_BYTES, leasedSinceStart());
    leased.release();
    budget.release(budget.usedBytes());
    assertEquals(0, leasedSinceStart());
  }

  @Test
  public void deliveredBufferObjectIsReusedWithAFreshLease() {
    LeanWritableBuffer.StreamAllocator allocator = new LeanWritableBuffer.StreamAllocator();
    LeanWritableBuffer first = (LeanWritableBuffer) allocator.allocate(100);
    first.write((byte) 1);
    ByteBuffer bytes = first.detach();
    allocator.recycle(first);
    LeanWritableBuffer second = (LeanWritableBuffer) allocator.allocate(100);
    assertTrue("the delivered object is reused", first == second);
    assertEquals(0, second.readableBytes());
    assertEquals(2 * LeanWritableBuffer.MIN_BUFFER_BYTES, leasedSinceStart());
    LeanBuffers.releaseOutbound(bytes);
    // The reused object is the framer's current buffer: finishing the stream ends its new lease.
    allocator.streamFinished();
    assertEquals(0, leasedSinceStart());
    assertNull(second.detach());
    // A disowned object is not reused.
    allocator.recycle(second);
    assertTrue(((LeanWritableBuffer) allocator.allocate(100)).isDiscarding());
  }

  /** As below, with the framer reusing each delivered buffer object for its next buffer. */
  @Test
  public void finishRacingWithReusedBuffersEndsEveryLeaseOnce() throws Exception {
    raceFramerWithFinish(3_000, true);
  }

  @Test
  public void discardedBufferIsReleasedOnce() {
    LeanWritableBuffer.StreamAllocator allocator = new LeanWritableBuffer.StreamAllocator();
    WritableBuffer frame = allocator.allocate(10);
    frame.release();
    frame.release();
    allocator.streamFinished();
    assertEquals(0, leasedSinceStart());
  }

  /**
   * The framer's thread allocates, fills and delivers while the loop finishes the stream at the
   * same moment: each lease ends exactly once (the pool's leak detection throws on a second end)
   * and none survives.
   */
  @Test
  public void finishRacingWithTheFramerEndsEveryLeaseOnce() throws Exception {
    raceFramerWithFinish(5_000, false);
  }

  /**
   * {@code rounds} streams; in each, a framer thread and a loop thread start together at a
   * barrier: the framer fills and delivers buffers (with {@code reuse}, four, each delivered
   * object recycled for the next, then a last one it keeps, as when a call ends mid-message;
   * otherwise one), the loop finishes the stream. No lease survives.
   */
  private void raceFramerWithFinish(int rounds, boolean reuse) throws Exception {
    CyclicBarrier barrier = new CyclicBarrier(2);
    ExecutorService executor = Executors.newFixedThreadPool(2);
    try {
      LeanWritableBuffer.StreamAllocator[] allocators =
          new LeanWritableBuffer.StreamAllocator[rounds];
      for (int i = 0; i < rounds; i++) {
        allocators[i] = new LeanWritableBuffer.StreamAllocator();
      }
      Future<?> framer = executor.submit(() -> {
        byte[] message = new byte[5000];
        for (int i = 0; i < rounds; i++) {
          barrier.await();
          for (int b = 0; b < (reuse ? 4 : 1); b++) {
            WritableBuffer frame = allocators[i].allocate(message.length);
            frame.write(message, 0, Math.min(message.length, frame.writableBytes()));
            ByteBuffer bytes = ((LeanWritableBuffer) frame).detach();
            if (bytes != null) {
              if (reuse) {
                allocators[i].recycle((LeanWritableBuffer) frame);
              }
              LeanBuffers.releaseOutbound(bytes);
            }
          }
          if (reuse) {
            allocators[i].allocate(message.length).write((byte) 1);
          }
        }
        return null;
      });
      Future<?> loop = executor.submit(() -> {
        for (int i = 0; i < rounds; i++) {
          barrier.await();
          allocators[i].streamFinished();
        }
        return null;
      });
      framer.get();
      loop.get();
    } finally {
      executor.shutdownNow();
    }
    assertEquals(LeanTransportStats.describe(), 0, leasedSinceStart());
  }

  private long leasedSinceStart() {
    return LeanTransportStats.leasedBytes() - baseline;
  }
}
