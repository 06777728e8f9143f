package dev.grpclean.transport;

import io.grpc.internal.AbstractReadableBuffer;
import io.grpc.internal.ReadableBuffer;
import io.grpc.internal.ReadableBuffers;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hands a DATA payload to grpc-core's deframer in a buffer the stream owns, never as a slice of
 * the connection's read lease. Payloads of at least {@link #MIN_POOLED_BYTES} go into a
 * heap-pool lease that returns to the pool when grpc-core closes the last buffer sharing it
 * (the deframer closes consumed buffers; the message stream is closed after parsing). Smaller
 * payloads are copied into an exact-size array: a pool class would amplify them.
 *
 * <p>Thread-safe: a buffer is read by one thread at a time, but its lease may be released from
 * the application thread that closed the message stream; the reference count is atomic.
 */
final class InboundData {
  /** The pool's smallest class: from here on a lease wastes at most half of itself. */
  static final int MIN_POOLED_BYTES = 4096;

  private InboundData() {}

  /** Copies {@code payload} (borrowed) into a buffer owned by the returned object. */
  static ReadableBuffer copyOf(ByteBuffer payload) {
    int n = payload.remaining();
    if (n < MIN_POOLED_BYTES) {
      byte[] copy = new byte[n];
      payload.get(copy);
      return ReadableBuffers.wrap(copy);
    }
    ByteBuffer lease = LeanBuffers.leaseHeap(n);
    lease.put(payload);
    lease.flip();
    return new Pooled(new Lease(lease), lease);
  }

  /** One pool lease shared by a buffer and the slices taken from it. */
  private static final class Lease {
    private final ByteBuffer buffer;
    private final AtomicInteger refs = new AtomicInteger(1);

    Lease(ByteBuffer buffer) {
      this.buffer = buffer;
    }

    Lease retain() {
      refs.incrementAndGet();
      return this;
    }

    void release() {
      if (refs.decrementAndGet() == 0) {
        LeanBuffers.releaseHeap(buffer);
      }
    }
  }

  private static final class Pooled extends AbstractReadableBuffer {
    private final Lease lease;
    /** This buffer's readable window into the lease (position..limit). */
    private final ByteBuffer view;
    private int markPosition = -1;
    private boolean closed;

    Pooled(Lease lease, ByteBuffer window) {
      this.lease = lease;
      this.view = window.slice();
    }

    @Override
    public int readableBytes() {
      return view.remaining();
    }

    @Override
    public int readUnsignedByte() {
      checkReadable(1);
      return view.get() & 0xFF;
    }

    @Override
    public void skipBytes(int length) {
      checkReadable(length);
      view.position(view.position() + length);
    }

    @Override
    public void readBytes(byte[] dest, int destOffset, int length) {
      checkReadable(length);
      view.get(dest, destOffset, length);
    }

    @Override
    public void readBytes(OutputStream dest, int length) throws IOException {
      checkReadable(length);
      dest.write(view.array(), view.arrayOffset() + view.position(), length);
      view.position(view.position() + length);
    }

    @Override
    public ReadableBuffer readBytes(int length) {
      checkReadable(length);
      ByteBuffer part = view.duplicate();
      part.limit(part.position() + length);
      view.position(view.position() + length);
      return new Pooled(lease.retain(), part);
    }

    @Override
    public boolean hasArray() {
      return true;
    }

    @Override
    public byte[] array() {
      return view.array();
    }

    @Override
    public int arrayOffset() {
      return view.arrayOffset() + view.position();
    }

    @Override
    public boolean markSupported() {
      return true;
    }

    @Override
    public void mark() {
      markPosition = view.position();
    }

    @Override
    public void reset() {
      if (markPosition < 0) {
        throw new java.nio.InvalidMarkException();
      }
      view.position(markPosition);
    }

    @Override
    public boolean byteBufferSupported() {
      return true;
    }

    @Override
    public ByteBuffer getByteBuffer() {
      return view.slice();
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        lease.release();
      }
    }
  }
}
