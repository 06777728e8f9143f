package dev.grpclean.transport;

import io.grpc.internal.WritableBuffer;
import io.grpc.internal.WritableBufferAllocator;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import javax.annotation.Nullable;

/**
 * Outbound message bytes from grpc-core's framer, in a direct lease of the outbound pool.
 * Ownership passes to the connection's writer when the framer delivers the buffer
 * ({@link #detach}); a buffer the framer discards is released by {@link #release}; a buffer the
 * framer still holds when its stream is gone is disowned by the stream's {@link StreamAllocator}.
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
   * A client stream's largest lease: grpc-core asks for up to 1 MiB; a larger message simply
   * spans buffers. 64 KiB keeps pool classes few and copies into the write buffer cheap, and the
   * client's sink still hands each buffer to the loop as a task of its own.
   */
  static final int MAX_BUFFER_BYTES = 64 * 1024;
  /**
   * A server stream's largest lease: 16 KiB, HTTP/2's default (and smallest allowed) maximum
   * frame size. A plaintext writer gathers each full buffer as one DATA frame's whole payload,
   * with no view object per frame ({@link OutboundStream#alignedToChunk}); with 64 KiB buffers
   * every frame taking part of one needed a view of its own (about 4 KiB of garbage per MiB
   * sent). Four times as many buffers cost nothing more to hand over: the server's sink passes
   * them to the loop in batches ({@link OutboundHandOff}) and reuses the buffer objects.
   */
  static final int SERVER_BUFFER_BYTES = 16 * 1024;

  private static final int FILLING = 0;
  private static final int HANDED_OVER = 1;
  private static final int DISOWNED = 2;
  private static final AtomicIntegerFieldUpdater<LeanWritableBuffer> STATE =
      AtomicIntegerFieldUpdater.newUpdater(LeanWritableBuffer.class, "state");

  /**
   * Written by the framer's thread only; dropped once the buffer leaves that thread. Null from
   * the start for a discarding buffer.
   */
  private ByteBuffer buffer;
  /**
   * A discarding buffer's room: it holds no array, counts what the framer writes and drops it
   * (bytes nobody will ever send). 0 for a buffer with an array.
   */
  private final int discardCapacity;
  /** Bytes a discarding buffer was given; framer thread only. */
  private int discardedBytes;
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
    this.discardCapacity = 0;
  }

  /**
   * Framer thread: this handed-over object takes a new lease, {@code fresh}, as if new. The
   * state is written last, publishing the lease to a loop thread that may disown it.
   */
  private void refill(ByteBuffer fresh) {
    buffer = fresh;
    lease = fresh;
    state = FILLING;
  }

  /** A discarding buffer of {@code capacity} bytes: never handed over, never leased. */
  private LeanWritableBuffer(int capacity) {
    this.buffer = null;
    this.lease = null;
    this.state = DISOWNED;
    this.discardCapacity = capacity;
  }

  @Override
  public void write(byte[] src, int srcIndex, int length) {
    if (discardCapacity > 0) {
      discard(length);
      return;
    }
    buffer.put(src, srcIndex, length);
  }

  @Override
  public void write(byte b) {
    if (discardCapacity > 0) {
      discard(1);
      return;
    }
    buffer.put(b);
  }

  /** Counts {@code length} dropped bytes, with the overflow check a real buffer would make. */
  private void discard(int length) {
    if (length < 0 || length > discardCapacity - discardedBytes) {
      throw new java.nio.BufferOverflowException();
    }
    discardedBytes += length;
  }

  @Override
  public int writableBytes() {
    return discardCapacity > 0 ? discardCapacity - discardedBytes : buffer.remaining();
  }

  @Override
  public int readableBytes() {
    return discardCapacity > 0 ? discardedBytes : buffer.position();
  }

  /** Whether this buffer drops what is written into it (tests). */
  boolean isDiscarding() {
    return discardCapacity > 0;
  }

  @Override
  public void release() {
    if (buffer != null && STATE.compareAndSet(this, FILLING, HANDED_OVER)) {
      LeanBuffers.releaseOutbound(lease);
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
      LeanBuffers.poolOf(lease).disown(lease);
      lease = null;
    }
  }

  /**
   * The framer allocator of one stream. grpc-core's framer holds at most one buffer at a time and
   * normally delivers it, but not always: when a unary call's stream closes early (e.g. an
   * UNIMPLEMENTED answer) around {@code sendMessage}, grpc-core's retry layer may write the
   * request into the closed stream's framer and then drop the half-close that would have
   * delivered it. So once the transport is finished with the stream, later buffers are
   * discarding ones that hold no array and are never sent, and {@link #streamFinished} ends the
   * lease of a buffer the framer took just before. The same from {@link #discardFromNow}: a
   * stream whose write the memory budget refused is failing, and grpc-core's framer still frames
   * the rest of the message (up to 1 MiB, sixteen 64 KiB buffers) into buffers that would only
   * be dropped; discarding ones cost no memory.
   *
   * <p>Thread-safe: {@link #allocate} runs on the framer's thread, {@link #streamFinished} on the
   * loop; each publishes its write before reading the other's, so one of them sees the other.
   */
  static final class StreamAllocator implements WritableBufferAllocator {
    /** The stream's memory budget, or null. */
    @Nullable private final LeanMemoryBudget budget;
    /** Largest lease, {@link #MAX_BUFFER_BYTES} or {@link #SERVER_BUFFER_BYTES}. */
    private final int maxBufferBytes;
    @Nullable private volatile LeanWritableBuffer current;
    private volatile boolean streamFinished;
    /** Set by {@link #discardFromNow} or a refusal in {@link #allocate}, framer thread. */
    private volatile boolean discarding;
    /** {@link #allocate} refused a buffer for the budget; framer thread. */
    private volatile boolean refusedAtAllocation;
    /**
     * A buffer object whose bytes the framer delivered and the stream detached, kept for the
     * next {@link #allocate}: a large message no longer costs an object per framer buffer.
     * Framer thread only.
     */
    @Nullable private LeanWritableBuffer spare;

    /** An allocator for a stream without a memory budget. */
    StreamAllocator() {
      this(null);
    }

    /**
     * An allocator that refuses, while {@code budget} is under pressure, a buffer that can only
     * hold part of a larger message (see {@link #allocate}).
     */
    StreamAllocator(@Nullable LeanMemoryBudget budget) {
      this(budget, MAX_BUFFER_BYTES);
    }

    /** As above, with leases of at most {@code maxBufferBytes}. */
    StreamAllocator(@Nullable LeanMemoryBudget budget, int maxBufferBytes) {
      this.budget = budget;
      this.maxBufferBytes = maxBufferBytes;
    }

    /**
     * A buffer of {@code capacityHint} bytes, at least 4 KiB and at most the largest lease. grpc-core asks
     * for a message's whole length (plus its 5-byte header) when it starts framing one. When
     * that is more than the buffer can hold, the buffer will be delivered with part of a message
     * only, which the budget takes only below its pressure mark
     * ({@link LeanMemoryBudget#tryReserveOutbound}); so while the budget is at or above the mark
     * such a buffer is refused here already, before anything is leased and filled: it discards
     * what the framer writes, as do all later ones, and the next {@code writeFrame} fails the
     * call as a refusal there would ({@link #refusedAtAllocation()}). A write racing with a
     * release that takes the budget back under the mark in between is refused a moment early;
     * the writer was told {@code isReady() == false} once the budget reached the mark.
     */
    @Override
    public WritableBuffer allocate(int capacityHint) {
      int capacity = Math.min(maxBufferBytes, Math.max(MIN_BUFFER_BYTES, capacityHint));
      if (streamFinished || discarding) {
        return new LeanWritableBuffer(capacity);
      }
      if (budget != null && capacityHint > capacity && budget.isUnderPressure()) {
        refusedAtAllocation = true;
        discarding = true;
        return new LeanWritableBuffer(capacity);
      }
      ByteBuffer lease = LeanBuffers.leaseOutbound(capacity);
      LeanWritableBuffer b = spare;
      if (b != null) {
        spare = null;
        b.refill(lease);
      } else {
        b = new LeanWritableBuffer(lease, FILLING);
      }
      current = b;
      if (streamFinished) {
        b.disown();
      }
      return b;
    }

    /**
     * Framer thread, from {@code writeFrame}: {@code frame} was delivered and {@link #detach}ed,
     * so grpc-core's framer no longer refers to it (it drops a buffer as it delivers it), and
     * the next {@link #allocate} may reuse the object. A loop thread that still disowns it from
     * {@code current} finds it handed over and does nothing; once reused, disowning it ends the
     * new lease, which is what it should do then.
     */
    void recycle(LeanWritableBuffer frame) {
      if (frame.state == HANDED_OVER && frame.discardCapacity == 0) {
        spare = frame;
      }
    }

    /**
     * The framer's thread, between buffers (from {@code writeFrame}): every later buffer
     * discards what is written into it. For a stream that is failing, whose bytes will never be
     * sent.
     */
    void discardFromNow() {
      discarding = true;
    }

    /**
     * Whether {@link #allocate} refused a buffer for the memory budget: the stream must fail as
     * for a refused write. Framer thread.
     */
    boolean refusedAtAllocation() {
      return refusedAtAllocation;
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
