package dev.grpclean.transport;

import io.grpc.internal.AbstractReadableBuffer;
import io.grpc.internal.ForwardingReadableBuffer;
import io.grpc.internal.ReadableBuffer;
import io.grpc.internal.ReadableBuffers;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.InvalidMarkException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import javax.annotation.Nullable;

/**
 * Hands a DATA payload to grpc-core's deframer in a buffer the stream owns, never as a slice of
 * the connection's read lease. Payloads of at least {@link #MIN_POOLED_BYTES} go into a lease of
 * the inbound pool (direct) that returns to the pool when grpc-core closes the last buffer sharing
 * it (the deframer closes consumed buffers; the message stream is closed after parsing). Smaller
 * payloads are copied into an exact-size array: a pool class would amplify them.
 *
 * <p>Memory. A payload of n bytes pins at most {@code 2n} leased bytes (its pool class, a power
 * of two, is below 2n for n at least 4 KiB) and one {@link Pooled} object of ~40 bytes. The
 * inbound pool owns at most its ceiling: the leases of a steady download are reused, not
 * garbage, and demand beyond the ceiling (messages of several streams assembling at once) gets
 * one-off direct buffers whose memory is freed the moment grpc-core closes them, so what the
 * process holds follows what is being assembled instead of keeping the peak. Direct, because
 * heap buffers cannot be given back at once: a heap one-off alive at a collection is promoted
 * and stays until an old-generation collection.
 * A partial message is a run of such payloads, so it pins at most twice its own bytes. A slice
 * taken by the deframer (a message boundary inside a frame) is one more small object that
 * retains the same lease.
 *
 * <p>Use after release. Every read of a closed buffer throws {@link IllegalStateException}, and a
 * lease goes back to the pool only when the buffer and every slice of it are closed, so a slice
 * still read on another thread never sees the bytes of the lease's next owner.
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
    return copyOf(payload, null);
  }

  /**
   * Copies {@code payload} (borrowed) into a buffer owned by the returned object and, with a
   * budget account, charges what that buffer holds (the lease's capacity, or the small copy's
   * length) until grpc-core closes it. The charge is unconditional: the bytes were already read;
   * the connection pauses its reads instead.
   */
  static ReadableBuffer copyOf(ByteBuffer payload, @Nullable BudgetAccount budget) {
    int n = payload.remaining();
    if (n < MIN_POOLED_BYTES) {
      byte[] copy = new byte[n];
      payload.get(copy);
      ReadableBuffer wrapped = ReadableBuffers.wrap(copy);
      if (budget == null || n == 0) {
        return wrapped;
      }
      budget.charge(n);
      return new Charged(wrapped, budget, n);
    }
    ByteBuffer lease = LeanBuffers.leaseInbound(n);
    lease.put(payload);
    if (budget != null) {
      budget.charge(lease.capacity());
    }
    return new Pooled(lease, n, budget);
  }

  /**
   * A small copy whose charge goes back when grpc-core closes it. Slices taken from it are plain
   * views of the same array and are not charged: the deframer closes the whole buffer once it has
   * read it, so the charge lasts until its bytes are consumed.
   */
  private static final class Charged extends ForwardingReadableBuffer {
    private final BudgetAccount budget;
    private final int chargedBytes;
    private boolean closed;

    Charged(ReadableBuffer buf, BudgetAccount budget, int chargedBytes) {
      super(buf);
      this.budget = budget;
      this.chargedBytes = chargedBytes;
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        budget.release(chargedBytes);
      }
      super.close();
    }
  }

  /**
   * A window of an inbound lease (direct). The first one made for a lease (the root) also
   * carries the lease's reference count, so a payload costs one object; slices point at their
   * root. Reads use the lease's absolute accessors, so the lease's own cursor is never moved.
   */
  private static final class Pooled extends AbstractReadableBuffer {
    private static final AtomicIntegerFieldUpdater<Pooled> REFS =
        AtomicIntegerFieldUpdater.newUpdater(Pooled.class, "refs");
    /** Per-thread staging for writing a direct lease to an OutputStream without garbage. */
    private static final ThreadLocal<byte[]> CHUNK = ThreadLocal.withInitial(() -> new byte[8192]);

    private final Pooled root;
    /** The inbound pool's lease (direct, no array); read with absolute gets only. */
    private final ByteBuffer lease;
    /** Charged for the lease (root only), or null. */
    @Nullable private final BudgetAccount budget;
    /** Readable window of {@link #lease}: position..limit. */
    private int position;
    private final int limit;
    private int markPosition = -1;
    private boolean closed;
    /** Root only: this buffer and its open slices. */
    private volatile int refs;

    /** A root over {@code lease}'s first {@code length} bytes; takes ownership of the lease. */
    Pooled(ByteBuffer lease, int length, @Nullable BudgetAccount budget) {
      this.root = this;
      this.budget = budget;
      this.lease = lease;
      this.position = 0;
      this.limit = length;
      this.refs = 1;
    }

    /** A slice of {@code root}'s lease; the caller has retained the root for it. */
    private Pooled(Pooled root, int position, int limit) {
      this.root = root;
      this.lease = root.lease;
      this.budget = null;
      this.position = position;
      this.limit = limit;
    }

    private void retainRoot() {
      while (true) {
        int n = root.refs;
        if (n <= 0) {
          throw new IllegalStateException("slice of an inbound buffer already released");
        }
        if (REFS.compareAndSet(root, n, n + 1)) {
          return;
        }
      }
    }

    private void releaseRoot() {
      int n = REFS.decrementAndGet(root);
      if (n == 0) {
        int capacity = lease.capacity();
        LeanBuffers.releaseInbound(lease);
        if (root.budget != null) {
          root.budget.release(capacity);
        }
      } else if (n < 0) {
        throw new IllegalStateException("inbound buffer released more often than retained");
      }
    }

    private void checkOpen() {
      if (closed) {
        throw new IllegalStateException("inbound buffer read after close");
      }
    }

    @Override
    public int readableBytes() {
      return limit - position;
    }

    @Override
    public int readUnsignedByte() {
      checkOpen();
      checkReadable(1);
      return lease.get(position++) & 0xFF;
    }

    @Override
    public void skipBytes(int length) {
      checkOpen();
      checkReadable(length);
      position += length;
    }

    @Override
    public void readBytes(byte[] dest, int destOffset, int length) {
      checkOpen();
      checkReadable(length);
      lease.get(position, dest, destOffset, length);
      position += length;
    }

    @Override
    public void readBytes(OutputStream dest, int length) throws IOException {
      checkOpen();
      checkReadable(length);
      byte[] chunk = CHUNK.get();
      while (length > 0) {
        int n = Math.min(length, chunk.length);
        lease.get(position, chunk, 0, n);
        dest.write(chunk, 0, n);
        position += n;
        length -= n;
      }
    }

    @Override
    public ReadableBuffer readBytes(int length) {
      checkOpen();
      checkReadable(length);
      retainRoot();
      Pooled part = new Pooled(root, position, position + length);
      position += length;
      return part;
    }

    /**
     * A direct lease has no array: {@code hasArray()} is false and {@code arrayOffset()} throws
     * (both inherited); so does this, once the buffer is known to be open.
     */
    @Override
    public byte[] array() {
      checkOpen();
      return super.array();
    }

    @Override
    public boolean markSupported() {
      return true;
    }

    @Override
    public void mark() {
      markPosition = position;
    }

    @Override
    public void reset() {
      if (markPosition < 0) {
        throw new InvalidMarkException();
      }
      position = markPosition;
    }

    @Override
    public boolean byteBufferSupported() {
      return true;
    }

    /** The readable bytes without a copy; valid until this buffer is closed. */
    @Override
    public ByteBuffer getByteBuffer() {
      checkOpen();
      return lease.slice(position, limit - position);
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        releaseRoot();
      }
    }
  }
}
