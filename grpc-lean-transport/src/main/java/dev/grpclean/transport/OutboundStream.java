package dev.grpclean.transport;

import io.netty.handler.codec.http2.Http2Headers;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The writer's view of one stream: bytes queued behind flow control, the stream's send window and
 * what ends the stream (END_STREAM on the last DATA, or trailers).
 *
 * <p>Queued chunks are pool leases (the outbound pool's direct buffers, or a heap lease for a
 * transport-made body) owned by this object until the writer takes them into its batch (copied,
 * or gathered and released once written) or the stream is cancelled; either way they go back to
 * their pool.
 *
 * <p>Every change to the queued bytes is mirrored in the connection writer's total
 * ({@link LoopyWriter#queuedDataBytes}), which bounds what a peer that never opens its windows
 * can make the connection hold.
 *
 * <p>Confined to the connection's loop thread.
 */
final class OutboundStream {
  /** Notified on the loop thread as the writer makes progress on this stream. */
  interface Listener {
    /** {@code bytes} of this stream's DATA payload were framed for the socket. */
    void onDataSent(int bytes);

    /** END_STREAM was written: the local side of the stream is closed. */
    void onOutboundClosed();
  }

  final int id;
  final Listener listener;
  /** The connection's writer, keeper of the total queued across its streams. */
  private final LoopyWriter writer;
  /**
   * The budget every queued chunk was charged to by its capacity when the application handed it
   * over, or null (no budget, or a stream whose chunks come from the transport itself).
   */
  @javax.annotation.Nullable final LeanMemoryBudget budget;
  /** Send window (RFC 9113 §6.9.1); may go negative after a SETTINGS decrease (§6.9.2). */
  int windowBytes;
  /**
   * Created on first data, so a stream that never sends holds no deque; kept, empty, once drained
   * (see {@link #drainTo}).
   */
  ArrayDeque<ByteBuffer> chunks;
  int queuedBytes;
  boolean endStreamAfterData;
  /** Response HEADERS written at the stream's next turn, ahead of its DATA; null once out. */
  Http2Headers leadingHeaders;
  Http2Headers trailers;
  boolean inActiveList;
  /** Counted in the connection's window stalls (bytes queued, no window); writer-maintained. */
  boolean blockedOnWindow;
  boolean closed;
  // Per-stream figures for the connection's StreamSummaries, folded in when the stream ends. The
  // clock reads are 0 when the connection keeps no summaries (counting off, or not busy yet).
  /** DATA payload bytes framed for the socket. */
  long bytesSent;
  /** DATA payload bytes received (written by {@link StreamRules#onData}). */
  long bytesReceived;
  /** Closed intervals of {@link #blockedOnWindow}; the open one started at the next field. */
  long windowBlockedNanos;
  long windowBlockedSinceNanos;
  /** Closed intervals with DATA queued here; the open one started at the next field. */
  long queuedNanos;
  long queuedSinceNanos;

  OutboundStream(int id, int initialWindowBytes, Listener listener, LoopyWriter writer) {
    this(id, initialWindowBytes, listener, writer, null);
  }

  OutboundStream(int id, int initialWindowBytes, Listener listener, LoopyWriter writer,
      @javax.annotation.Nullable LeanMemoryBudget budget) {
    this.budget = budget;
    this.id = id;
    this.windowBytes = initialWindowBytes;
    this.listener = listener;
    this.writer = writer;
  }

  /** Whether the writer has something to emit for this stream right now. */
  boolean hasWork() {
    if (closed) {
      return false;
    }
    if (leadingHeaders != null) {
      return true;
    }
    if (queuedBytes > 0) {
      return windowBytes > 0;
    }
    return endStreamAfterData || trailers != null;
  }

  void enqueue(ByteBuffer chunk) {
    if (chunks == null) {
      chunks = new ArrayDeque<>(4);
    }
    chunks.add(chunk);
    if (queuedBytes == 0 && queuedSinceNanos == 0) {
      queuedSinceNanos = writer.streamNanos();
    }
    queuedBytes += chunk.remaining();
    writer.queuedDataBytes += chunk.remaining();
  }

  /** Moves everything queued (and END_STREAM) to {@code to}; the connection total is unchanged. */
  void moveTo(OutboundStream to) {
    if (chunks != null) {
      ByteBuffer b;
      while ((b = chunks.poll()) != null) {
        queuedBytes -= b.remaining();
        writer.queuedDataBytes -= b.remaining();
        to.enqueue(b);
      }
      chunks = null;
    }
    if (queuedSinceNanos != 0) {
      // The bytes have waited since they were queued here, not since the move.
      to.queuedSinceNanos = queuedSinceNanos;
      queuedSinceNanos = 0;
    }
    to.endStreamAfterData = endStreamAfterData;
  }

  /**
   * {@code n}, or fewer so that a DATA frame that would end inside the second queued chunk ends
   * where that chunk begins instead, when that chunk is large enough to be gathered
   * ({@code minGathered}) rather than copied. For a gathering writer: frames then start and end
   * on chunk boundaries, so each full framer buffer leaves whole, as its frame's payload with no
   * view object; a message's short last chunk becomes a short frame of its own instead of
   * shifting every frame of the next message across two buffers. Only the first two chunks are
   * looked at; no allocation.
   */
  int alignedToChunk(int n, int minGathered) {
    ByteBuffer head = chunks.peekFirst();
    int headBytes = head.remaining();
    if (headBytes >= n || chunks.size() < 2) {
      return n;
    }
    chunks.pollFirst(); // peek at the second chunk without an iterator
    int secondBytes = chunks.peekFirst().remaining();
    chunks.addFirst(head);
    boolean endsInsideSecond = headBytes + secondBytes > n;
    return endsInsideSecond && secondBytes >= minGathered ? headBytes : n;
  }

  /**
   * Hands {@code n} queued bytes to the writer's batch as the payload of the DATA header just
   * framed; drained chunks go with them (the batch returns them to their pool).
   */
  void drainTo(LoopyWriter to, int n) {
    while (n > 0) {
      ByteBuffer head = chunks.peek();
      int take = Math.min(n, head.remaining());
      boolean drained = take == head.remaining();
      if (drained) {
        chunks.poll();
      }
      n -= take;
      queuedBytes -= take;
      writer.queuedDataBytes -= take;
      to.addPayload(head, take, drained, budget);
    }
    if (queuedBytes == 0) {
      // The empty deque stays: a streaming call refills it many times a second, and each new
      // one grew again to hold a window's worth of 16 KiB chunks (0.7 KiB of garbage per MiB
      // sent). It goes with the stream, or when the stream is discarded.
      queueDrained();
    }
  }

  /** Closes the open queued interval, if any: nothing is queued any more. */
  private void queueDrained() {
    if (queuedSinceNanos != 0) {
      queuedNanos += writer.streamNanos() - queuedSinceNanos;
      queuedSinceNanos = 0;
    }
  }

  /**
   * Returns a chunk that was (or would have been) queued here to the pool, and its charge to the
   * budget: every chunk an application handed to this stream goes back this way.
   */
  void releaseChunk(ByteBuffer chunk) {
    releaseChunk(chunk, budget);
  }

  /** Returns {@code chunk} to its pool and its capacity to {@code budget}, if any. */
  static void releaseChunk(ByteBuffer chunk, @javax.annotation.Nullable LeanMemoryBudget budget) {
    int capacity = chunk.capacity();
    LeanBuffers.releaseOutbound(chunk);
    if (budget != null) {
      budget.release(capacity);
    }
  }

  /**
   * Drops everything queued (the stream was reset or the connection died). A chunk the writer's
   * batch may still point into goes to the batch, released once written.
   */
  void discard() {
    closed = true;
    if (chunks != null) {
      ByteBuffer b;
      while ((b = chunks.poll()) != null) {
        writer.releaseQueuedChunk(b, budget);
      }
      chunks = null;
    }
    writer.queuedDataBytes -= queuedBytes;
    queuedBytes = 0;
    queueDrained();
    leadingHeaders = null;
    trailers = null;
    endStreamAfterData = false;
  }
}
