package dev.grpclean.transport;

import io.grpc.internal.WritableBuffer;
import io.grpc.internal.WritableBufferAllocator;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import javax.annotation.Nullable;

/**
 * Outbound message bytes from grpc-core's framer, in a heap-pool lease. Ownership passes to the
 * connection's writer when the framer delivers the buffer ({@link #detach}); a buffer the framer
 * discards is released by {@link #release}; a buffer the framer still holds when its stream is
 * gone is disowned by the stream's {@link StreamAllocator}.
 *
 * <p>Filled by one application thread; the hand-over state is thread-safe, so the loop thread may
 * disown the buffer while the application thread is still writing into it.
 */
final class LeanWritableBuffer implements WritableBuffer {
  /**
   * Smallest lease for a framer buffer: a 5-byte gRPC frame header plus a small message fits, and
   * it is the pool's smallest class anyway.
   */
  static final int MIN_BUFFER_BYTES = 4096;
  /**
   * Largest lease: grpc-core asks for up to 1 MiB; a larger message simply spans buffers. 64 KiB
   * keeps pool classes few and copies into the write buffer cheap.
   */
  static final int MAX_BUFFER_BYTES = 64 * 1024;

  private static final int FILLING = 0;
  private static final int HANDED_OVER = 1;
  private static final int DISOWNED = 2;
  private static final AtomicIntegerFieldUpdater<LeanWritableBuffer> STATE =
      AtomicIntegerFieldUpdater.newUpdater(LeanWritableBuffer.class, "state");

  /** Written by the framer's thread only; dropped once the buffer leaves that thread. */
  private ByteBuffer buffer;
  /**
   * The pool lease behind {@link #buffer}, for disowning from another thread; cleared by whoever
   * wins the hand-over, so a stream's allocator never pins a buffer it no longer owns.
   */
  @Nullable private ByteBuffer lease;
  private volatile int state;

  private LeanWritableBuffer(ByteBuffer buffer, int state) {
    this.buffer = buffer;
    this.lease = state == FILLING ? buffer : null;
    this.state = state;
  }

  @Override
  public void write(byte[] src, int srcIndex, int length) {
    buffer.put(src, srcIndex, length);
  }

  @Override
  public void write(byte b) {
    buffer.put(b);
  }

  @Override
  public int writableBytes() {
    return buffer.remaining();
  }

  @Override
  public int readableBytes() {
    return buffer.position();
  }

  @Override
  public void release() {
    if (buffer != null && STATE.compareAndSet(this, FILLING, HANDED_OVER)) {
      LeanBuffers.releaseHeap(lease);
      lease = null;
    }
    buffer = null;
  }

  /**
   * Hands the written bytes (flipped for reading) to the caller, who now owns the lease; null
   * when the stream finished while the framer held the buffer (nobody can send them now).
   */
  @Nullable
  ByteBuffer detach() {
    ByteBuffer b = buffer;
    buffer = null;
    if (!STATE.compareAndSet(this, FILLING, HANDED_OVER)) {
      return null;
    }
    lease = null;
    b.flip();
    return b;
  }

  /** Any thread: ends the lease if the framer still holds the buffer. */
  private void disown() {
    if (STATE.compareAndSet(this, FILLING, DISOWNED)) {
      LeanBuffers.heap().disown(lease);
      lease = null;
    }
  }

  /**
   * The framer allocator of one stream. grpc-core's framer holds at most one buffer at a time and
   * normally delivers it, but not always: when a unary call's stream closes early (e.g. an
   * UNIMPLEMENTED answer) around {@code sendMessage}, grpc-core's retry layer may write the
   * request into the closed stream's framer and then drop the half-close that would have
   * delivered it. So once the transport is finished with the stream, later buffers are plain
   * unpooled arrays that are never sent, and {@link #streamFinished} ends the lease of a buffer
   * the framer took just before.
   *
   * <p>Thread-safe: {@link #allocate} runs on the framer's thread, {@link #streamFinished} on the
   * loop; each publishes its write before reading the other's, so one of them sees the other.
   */
  static final class StreamAllocator implements WritableBufferAllocator {
    @Nullable private volatile LeanWritableBuffer current;
    private volatile boolean streamFinished;

    @Override
    public WritableBuffer allocate(int capacityHint) {
      int capacity = Math.min(MAX_BUFFER_BYTES, Math.max(MIN_BUFFER_BYTES, capacityHint));
      if (streamFinished) {
        return new LeanWritableBuffer(ByteBuffer.allocate(capacity), DISOWNED);
      }
      LeanWritableBuffer b = new LeanWritableBuffer(LeanBuffers.leaseHeap(capacity), FILLING);
      current = b;
      if (streamFinished) {
        b.disown();
      }
      return b;
    }

    /** Loop thread, once the stream's status is reported or it left the connection. */
    void streamFinished() {
      if (streamFinished) {
        return;
      }
      streamFinished = true;
      LeanWritableBuffer b = current;
      if (b != null) {
        current = null;
        b.disown();
      }
    }
  }
}
