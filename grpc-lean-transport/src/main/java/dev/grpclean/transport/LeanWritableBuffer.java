package dev.grpclean.transport;

import io.grpc.internal.WritableBuffer;
import io.grpc.internal.WritableBufferAllocator;
import java.nio.ByteBuffer;

/**
 * Outbound message bytes from grpc-core's framer, in a heap-pool lease. Ownership passes to the
 * connection's writer when the framer delivers the buffer ({@link #detach}); a buffer the framer
 * discards is released by {@link #release}.
 *
 * <p>Thread-compatible: filled by one application thread, then handed over.
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

  static final WritableBufferAllocator ALLOCATOR =
      capacityHint -> new LeanWritableBuffer(LeanBuffers.leaseHeap(
          Math.min(MAX_BUFFER_BYTES, Math.max(MIN_BUFFER_BYTES, capacityHint))));

  private ByteBuffer buffer;

  private LeanWritableBuffer(ByteBuffer buffer) {
    this.buffer = buffer;
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
    if (buffer != null) {
      LeanBuffers.releaseHeap(buffer);
      buffer = null;
    }
  }

  /** Hands the written bytes (flipped for reading) to the caller, who now owns the lease. */
  ByteBuffer detach() {
    ByteBuffer b = buffer;
    buffer = null;
    b.flip();
    return b;
  }
}
