package dev.grpclean.transport;

import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.FrameWriter;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.IOException;
import java.nio.ByteBuffer;
import javax.annotation.Nullable;

/**
 * What one socket write of the {@link LoopyWriter} holds, and the bytes of it the socket has not
 * taken yet.
 *
 * <p>Frame bytes (control frames, header blocks, DATA frame headers) are encoded into one leased
 * I/O buffer, {@link #out}. A DATA payload goes one of two ways:
 * <ul>
 *   <li>copying (a secured socket, whose record layer seals a contiguous buffer anyway, a
 *       payload piece under {@link #COPY_BELOW_BYTES}, or a heap chunk that fits): copied into
 *       {@link #out} after its frame header; a chunk copied to its end goes back to its pool at
 *       once, unless a slice of this batch points into it;</li>
 *   <li>gathering (a plaintext socket): the payload stays in the stream's lease; the batch keeps
 *       a segment list in wire order, [frame bytes, payload slice, frame bytes, payload slice,
 *       ...], written with one gathering write. A chunk drained to its end is held by the batch
 *       until the socket has taken every byte of the batch, then released with its budget
 *       charge; so is any lease a slice still points into ({@link #releaseLater}).</li>
 * </ul>
 * If the socket takes only part, the batch keeps its state (the I/O buffer and the held leases,
 * exactly what is unsent plus what it points into) until the socket is writable again; nothing
 * else is produced meanwhile.
 *
 * <p>Confined to the connection's loop thread.
 */
final class WriteBatch {
  /**
   * Frame buffer size: 64 KiB holds four max-size DATA frames, so a copying bulk transfer needs
   * one write syscall per 64 KiB while small RPCs use a fraction of it (and return it right away).
   */
  static final int WRITE_BUFFER_BYTES = 64 * 1024;
  /**
   * Most bytes (frames and gathered payload) one gathering write carries: larger writes mean
   * fewer syscalls and fewer wake-ups of the peer per MiB; the payload is in the streams' leases
   * already, so the figure costs no extra memory.
   */
  static final int GATHER_BATCH_BYTES = 256 * 1024;
  /** Payload pieces smaller than this are copied even when gathering (small frames coalesce). */
  static final int COPY_BELOW_BYTES = 2048;

  /** HPACK scratch, one per loop thread (not per connection): idle connections hold none. */
  private static final ThreadLocal<ByteBuf> HPACK_SCRATCH =
      ThreadLocal.withInitial(() -> Unpooled.buffer(1024));
  private static final int MAX_RETAINED_SCRATCH_BYTES = 64 * 1024;

  /** Frame bytes; null outside a flush unless the socket refused part of this batch. */
  @Nullable private ByteBuffer out;
  /** Whether this batch gathers payload slices; fixed from {@link #open} to {@link #close}. */
  private boolean gathering;
  /** Segments in wire order when gathering; kept across batches, dropped by {@link #trim}. */
  @Nullable private ByteBuffer[] segments;
  private int segmentCount;
  /** First segment with bytes left, while resuming a partial gathering write. */
  private int firstUnsent;
  /** Where in {@link #out} the frame bytes not yet closed into a segment begin. */
  private int regionStart;
  /** Payload bytes referenced by slices (not copied) in this batch. */
  private int gatheredBytes;
  /**
   * Chunks still queued on their streams that a slice of this batch points into (their first
   * bytes went out, the rest did not): released only after the write, should they be dropped.
   */
  @Nullable private ByteBuffer[] sliced;
  private int slicedCount;
  /** Leases the batch's slices point into; released (with their budgets) once written. */
  @Nullable private ByteBuffer[] held;
  @Nullable private LeanMemoryBudget[] heldBudgets;
  private int heldCount;
  /**
   * Views of {@link #out} that segments use for its frame bytes, kept for the next batches while
   * the frame buffer is the same lease (the pool mostly hands back the same one), so a gathering
   * write allocates no view per frame; dropped when the buffer changes or the connection
   * hibernates ({@link #trim}). Until then they keep that buffer reachable even if the pool has
   * dropped it: at most one frame buffer per busy connection.
   */
  @Nullable private ByteBuffer[] regionViews;
  @Nullable private ByteBuffer regionViewsOf;
  private int regionViewsUsed;
  /** The socket refused part of this batch; it waits for writability. */
  private boolean blocked;
  /**
   * Frame buffers this batch's segments still point into after a header block outgrew them
   * ({@link #ensureFrameRoom}); null unless that happened. Released once written.
   */
  @Nullable private java.util.ArrayList<ByteBuffer> retired;
  private long bytesWritten;

  /** Starts a batch: leases the frame buffer. */
  void open(boolean gather) {
    gathering = gather;
    out = LeanBuffers.leaseIo(WRITE_BUFFER_BYTES);
    regionStart = 0;
  }

  boolean isOpen() {
    return out != null;
  }

  /** Whether this batch gathers payload from the streams' leases (a plaintext socket). */
  boolean gathering() {
    return gathering;
  }

  boolean isBlocked() {
    return blocked;
  }

  /** The frame buffer, for encoding frames at its position. */
  ByteBuffer out() {
    return out;
  }

  /** Whether nothing was framed into this batch yet (every payload follows its frame header). */
  boolean isEmpty() {
    return out.position() == 0 && segmentCount == 0;
  }

  long bytesWritten() {
    return bytesWritten;
  }

  /**
   * Room for the next DATA frame's payload: what fits after its header. Negative or small means
   * the batch is full: write it, then come back.
   */
  int dataRoom() {
    if (!gathering) {
      return out.remaining() - FrameType.FRAME_HEADER_BYTES;
    }
    if (out.remaining() < FrameType.FRAME_HEADER_BYTES + COPY_BELOW_BYTES) {
      return -1;
    }
    return GATHER_BATCH_BYTES - out.position() - gatheredBytes - FrameType.FRAME_HEADER_BYTES;
  }

  /**
   * Adds {@code n} payload bytes from {@code chunk}'s position (which moves past them) after the
   * frame header just encoded. {@code drained}: these are the chunk's last bytes, and the batch
   * now owns the chunk and its charge to {@code budget}.
   */
  void addPayload(ByteBuffer chunk, int n, boolean drained,
      @Nullable LeanMemoryBudget budget) {
    // A heap chunk is copied while it fits: the JDK would copy it through a temporary direct
    // buffer of its own anyway.
    if (!gathering
        || (n <= out.remaining() && (n < COPY_BELOW_BYTES || !chunk.isDirect()))) {
      int limit = chunk.limit();
      chunk.limit(chunk.position() + n);
      out.put(chunk);
      chunk.limit(limit);
      if (drained) {
        releaseLater(chunk, budget);
      }
      return;
    }
    closeRegion();
    ByteBuffer slice;
    if (drained) {
      slice = chunk;
      hold(chunk, budget);
    } else {
      slice = chunk.duplicate();
      slice.limit(chunk.position() + n);
      chunk.position(chunk.position() + n);
      if (!isSliced(chunk)) {
        sliced = withRoom(sliced, slicedCount, 4);
        sliced[slicedCount++] = chunk;
      }
    }
    addSegment(slice);
    gatheredBytes += n;
  }

  /**
   * Returns a chunk to its pool, or, while a slice of this batch points into it (not yet
   * written), holds it until the batch is written or dropped.
   */
  void releaseLater(ByteBuffer chunk, @Nullable LeanMemoryBudget budget) {
    if (isSliced(chunk)) {
      hold(chunk, budget);
    } else {
      OutboundStream.releaseChunk(chunk, budget);
    }
  }

  private boolean isSliced(ByteBuffer chunk) {
    for (int i = 0; i < slicedCount; i++) {
      if (sliced[i] == chunk) {
        return true;
      }
    }
    return false;
  }

  /**
   * HPACK-encodes a header block into the loop thread's scratch (valid until the next call).
   * The encoder's table changes here, so the block must then be written
   * ({@link #putHeaderBlock}).
   */
  static ByteBuf encode(HeaderBlockEncoder encoder, int streamId, Http2Headers headers)
      throws Http2ConnectionError, Http2StreamError {
    ByteBuf scratch = HPACK_SCRATCH.get();
    scratch.clear();
    encoder.encode(streamId, headers, scratch);
    return scratch;
  }

  /** Writes an encoded block as HEADERS (+ CONTINUATION), through a larger buffer if need be. */
  void putHeaderBlock(ByteBuf block, int streamId, boolean endStream, int maxFrameBytes) {
    ensureFrameRoom(FrameWriter.headersBytes(block.readableBytes(), maxFrameBytes));
    FrameWriter.writeHeaders(out, streamId, block.nioBuffer(), endStream, maxFrameBytes);
    if (block.capacity() > MAX_RETAINED_SCRATCH_BYTES) {
      HPACK_SCRATCH.set(Unpooled.buffer(1024));
    }
  }

  /**
   * Makes room for a frame of {@code size} bytes that must be written now (an HPACK-encoded
   * block changed the encoder's table already). A copying batch moves its frames into a larger
   * lease; a gathering one retires the buffer its segments point into (held until written) and
   * continues in a fresh one.
   */
  void ensureFrameRoom(int size) {
    if (size <= out.remaining()) {
      return;
    }
    if (out.position() == 0) {
      LeanBuffers.releaseIo(out);
      out = LeanBuffers.leaseIo(size);
      regionStart = 0;
      return;
    }
    if (gathering) {
      closeRegion();
      if (retired == null) {
        retired = new java.util.ArrayList<>(2);
      }
      retired.add(out);
      out = LeanBuffers.leaseIo(Math.max(size, WRITE_BUFFER_BYTES));
      regionStart = 0;
      return;
    }
    ByteBuffer bigger = LeanBuffers.leaseIo(out.position() + size);
    out.flip();
    bigger.put(out);
    LeanBuffers.releaseIo(out);
    out = bigger;
  }

  /**
   * Writes the batch. Returns whether the socket took all of it; if not, the batch is blocked
   * and {@link #resume} goes on when the socket is writable.
   */
  boolean write(LoopyWriter.Output output) throws IOException {
    if (!gathering) {
      out.flip();
      return written(writeCopy(output));
    }
    closeRegion();
    firstUnsent = 0;
    return written(writeGather(output));
  }

  /** The socket is writable again: writes what is left of a blocked batch. */
  boolean resume(LoopyWriter.Output output) throws IOException {
    return written(gathering ? writeGather(output) : writeCopy(output));
  }

  private boolean written(boolean done) {
    blocked = !done;
    return done;
  }

  private boolean writeCopy(LoopyWriter.Output output) throws IOException {
    int before = out.remaining();
    boolean done = output.write(out);
    bytesWritten += before - out.remaining();
    return done;
  }

  private boolean writeGather(LoopyWriter.Output output) throws IOException {
    long before = remainingFrom(firstUnsent);
    boolean done = output.write(segments, firstUnsent, segmentCount - firstUnsent);
    while (firstUnsent < segmentCount && !segments[firstUnsent].hasRemaining()) {
      firstUnsent++;
    }
    bytesWritten += before - remainingFrom(firstUnsent);
    return done && firstUnsent == segmentCount;
  }

  private long remainingFrom(int from) {
    long n = 0;
    for (int i = from; i < segmentCount; i++) {
      n += segments[i].remaining();
    }
    return n;
  }

  /**
   * After a complete write: releases what the batch held and starts the next batch in the same
   * frame buffer.
   */
  void reset() {
    releaseHeld();
    clearSegments();
    out.clear();
    regionStart = 0;
    gatheredBytes = 0;
  }

  /** Ends the batch: everything it holds goes back (after a write, an error or on close). */
  void close() {
    releaseHeld();
    clearSegments();
    if (out != null) {
      LeanBuffers.releaseIo(out);
      out = null;
    }
    blocked = false;
    gatheredBytes = 0;
    regionStart = 0;
  }

  /** The connection hibernates: drops the segment and held arrays (made again when needed). */
  void trim() {
    if (out == null) {
      regionViews = null;
      regionViewsOf = null;
      segments = null;
      sliced = null;
      held = null;
      heldBudgets = null;
    }
  }

  /** Frame bytes since the last segment become a segment (a view of {@link #out}). */
  private void closeRegion() {
    int end = out.position();
    if (end > regionStart) {
      ByteBuffer region = regionView();
      region.limit(end).position(regionStart);
      addSegment(region);
      regionStart = end;
    }
  }

  /** A view of {@link #out} not used by a segment of this batch yet. */
  private ByteBuffer regionView() {
    if (regionViewsOf != out) {
      // A new frame buffer: views of the old one may still be segments of this batch; drop them
      // from the cache, not from the batch.
      regionViewsOf = out;
      regionViews = null;
      regionViewsUsed = 0;
    }
    regionViews = withRoom(regionViews, regionViewsUsed, 8);
    ByteBuffer view = regionViews[regionViewsUsed];
    if (view == null) {
      view = out.duplicate();
      regionViews[regionViewsUsed] = view;
    }
    regionViewsUsed++;
    view.clear();
    return view;
  }

  private void addSegment(ByteBuffer b) {
    segments = withRoom(segments, segmentCount, 16);
    segments[segmentCount++] = b;
  }

  /**
   * {@code array} if it has room after its first {@code used} entries, else a copy twice as
   * long; a new array of {@code initial} entries for null (arrays are dropped while hibernating).
   */
  private static ByteBuffer[] withRoom(@Nullable ByteBuffer[] array, int used, int initial) {
    if (array == null) {
      return new ByteBuffer[initial];
    }
    return used < array.length ? array : java.util.Arrays.copyOf(array, used * 2);
  }

  private void clearSegments() {
    if (segments != null) {
      java.util.Arrays.fill(segments, 0, segmentCount, null);
    }
    segmentCount = 0;
    firstUnsent = 0;
    regionViewsUsed = 0;
    if (sliced != null) {
      java.util.Arrays.fill(sliced, 0, slicedCount, null);
    }
    slicedCount = 0;
  }

  private void hold(ByteBuffer lease, @Nullable LeanMemoryBudget budget) {
    if (held == null) {
      held = new ByteBuffer[8];
      heldBudgets = new LeanMemoryBudget[8];
    } else if (heldCount == held.length) {
      held = java.util.Arrays.copyOf(held, heldCount * 2);
      heldBudgets = java.util.Arrays.copyOf(heldBudgets, heldCount * 2);
    }
    held[heldCount] = lease;
    heldBudgets[heldCount] = budget;
    heldCount++;
  }

  private void releaseHeld() {
    for (int i = 0; i < heldCount; i++) {
      ByteBuffer lease = held[i];
      held[i] = null;
      LeanMemoryBudget budget = heldBudgets[i];
      heldBudgets[i] = null;
      OutboundStream.releaseChunk(lease, budget);
    }
    heldCount = 0;
    if (retired != null) {
      for (ByteBuffer b : retired) {
        LeanBuffers.releaseIo(b);
      }
      retired = null;
    }
  }
}
