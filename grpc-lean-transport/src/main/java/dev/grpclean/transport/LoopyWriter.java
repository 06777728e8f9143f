package dev.grpclean.transport;

import com.google.errorprone.annotations.CheckReturnValue;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.FrameWriter;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The connection's single writer: drains a control queue and the streams' flow-controlled data
 * into one {@link WriteBatch} (frames in one leased write buffer; on a plaintext socket the DATA
 * payload gathered from the streams' leases rather than copied) and hands it to the socket.
 *
 * <p>Order of a drain: every queued control frame (in FIFO order, so HEADERS queued there precede
 * the DATA of their stream), then the active streams round-robin: at a stream's turn its leading
 * response HEADERS if any (not flow-controlled), at most one max-size DATA frame within the
 * stream's and the connection's send windows, and its trailers once its data is out. A server's
 * response thus leaves as one run of frames per stream. When the batch
 * fills it is written and refilled; when the queue runs dry the last partial batch is written and
 * its leases return to their pools. If the socket takes only part of a batch, the batch keeps its
 * leases until the socket is writable again; nothing else is produced meanwhile, so a peer that
 * stops reading costs at most one batch plus what the producers had queued (which grpc-core
 * bounds through {@code isReady()}).
 *
 * <p>Confined to the connection's loop thread.
 */
final class LoopyWriter {
  /** The connection side of the writer. Called on the loop thread. */
  interface Output {
    /** Writes what the socket takes now; returns whether all of {@code buf} was written. */
    boolean write(ByteBuffer buf) throws IOException;

    /**
     * Whether {@link #write(ByteBuffer[], int, int)} goes straight to the socket (no record
     * layer to seal a contiguous buffer): the writer may then gather DATA payload from the
     * streams' leases instead of copying it. Asked once per flush.
     */
    default boolean gathers() {
      return false;
    }

    /**
     * A gathering write of {@code bufs[offset, offset + length)}: writes what the socket takes
     * now, moving the buffers' positions; returns whether all of them were written.
     */
    default boolean write(ByteBuffer[] bufs, int offset, int length) throws IOException {
      throw new UnsupportedOperationException("not a gathering output");
    }

    /** Turns interest in writability on or off. */
    void setWriteInterest(boolean on);

    /** A HEADERS frame for {@code streamId} could not be encoded; fail that stream. */
    void onHeadersFailed(int streamId, Exception cause);

    /**
     * A HEADERS or DATA frame was framed. Servers reset their keepalive enforcer here: a client
     * may ping in response to what we send (BDP probes), as grpc-netty and grpc-okhttp allow.
     */
    default void onStreamFrameWritten() {}
  }

  /**
   * Cap on queued control responses (SETTINGS/PING acks, RST_STREAM). A peer that floods
   * requests for responses while not reading ours (CVE-2019-9512/9515) hits it; the connection
   * then goes away with ENHANCE_YOUR_CALM. Netty uses the same figure.
   */
  static final int MAX_QUEUED_CONTROL_RESPONSES = 10_000;

  private final Output output;
  private final HeaderBlockEncoder encoder;
  /** The connection's counters: queue depth, DATA turns, flushes, frames out, window stalls. */
  private final ConnectionCounters counters;
  /** Control frames and header blocks in wire order; null until the first, and while idle. */
  @javax.annotation.Nullable private ArrayDeque<QueuedItem> control;
  /**
   * Streams with DATA the windows allow, round-robin; null until the first, and while idle
   * ({@link #releaseIdleQueues}).
   */
  @javax.annotation.Nullable private ArrayDeque<OutboundStream> active;
  private int queuedResponses;
  /**
   * DATA payload bytes queued on this connection's streams behind flow control (or the socket);
   * kept by {@link OutboundStream}.
   */
  long queuedDataBytes;
  /** DATA frames with payload written so far: what a peer's WINDOW_UPDATEs can answer. */
  private long dataFramesWritten;
  private int connectionWindowBytes = FrameType.DEFAULT_INITIAL_WINDOW;
  private int peerMaxFrameBytes = FrameType.DEFAULT_MAX_FRAME_SIZE;
  /** What is being written: open during {@link #flush}, and while blocked on writability. */
  private final WriteBatch batch = new WriteBatch();
  private boolean failed;

  LoopyWriter(Output output, HeaderBlockEncoder encoder) {
    this(output, encoder, new ConnectionCounters(true));
  }

  LoopyWriter(Output output, HeaderBlockEncoder encoder, ConnectionCounters counters) {
    this.output = output;
    this.encoder = encoder;
    this.counters = counters;
  }

  /**
   * Queues a control frame. Returns false when the response cap is exceeded (a flood): the frame
   * is not queued, and the caller must not carry on as if it were ({@link
   * Http2Connection#sendControl} closes the connection).
   */
  @CheckReturnValue
  boolean enqueue(ControlFrame frame) {
    if (frame.isResponse()) {
      if (queuedResponses >= MAX_QUEUED_CONTROL_RESPONSES) {
        return false;
      }
      queuedResponses++;
    }
    controlQueue().add(frame);
    counters.queued(control.size());
    return true;
  }

  void enqueueHeaders(int streamId, Http2Headers headers, boolean endStream) {
    controlQueue().add(new HeadersFrame(streamId, headers, endStream));
    counters.queued(control.size());
  }

  /** Items in the control queue now (control frames and header blocks). */
  int controlQueueDepth() {
    return control == null ? 0 : control.size();
  }

  private ArrayDeque<QueuedItem> controlQueue() {
    if (control == null) {
      control = new ArrayDeque<>(4);
    }
    return control;
  }

  private static boolean isEmpty(@javax.annotation.Nullable ArrayDeque<?> queue) {
    return queue == null || queue.isEmpty();
  }

  /**
   * The connection hibernates ({@link Http2Connection#sweepIdle}): drops the empty queues, made
   * again by the next frame or stream. Nothing changes if anything is queued.
   */
  void releaseIdleQueues() {
    if (isIdle()) {
      control = null;
      active = null;
      batch.trim();
    }
  }

  /** Queues DATA for {@code stream}; takes ownership of {@code chunk} (an outbound lease). */
  void enqueueData(OutboundStream stream, ByteBuffer chunk, boolean endStream) {
    if (stream.closed) {
      if (chunk != null) {
        stream.releaseChunk(chunk);
      }
      return;
    }
    if (chunk != null) {
      if (chunk.hasRemaining()) {
        stream.enqueue(chunk);
      } else {
        stream.releaseChunk(chunk);
      }
    }
    if (endStream) {
      stream.endStreamAfterData = true;
    }
    activate(stream);
  }

  /**
   * Queues response HEADERS to lead the stream's DATA: written at its next turn whatever its
   * window, then the DATA the windows allow, then trailers once the data is out. Unary responses
   * leave as one run of frames per stream rather than all HEADERS, all DATA, all trailers, so the
   * peer hands each call its whole response together (one executor wake-up, not one per frame).
   */
  void enqueueLeadingHeaders(OutboundStream stream, Http2Headers headers) {
    if (stream.closed) {
      return;
    }
    stream.leadingHeaders = headers;
    activate(stream);
  }

  /** Queues trailers to follow the stream's data: HEADERS with END_STREAM. */
  void enqueueTrailers(OutboundStream stream, Http2Headers trailers) {
    if (stream.closed) {
      return;
    }
    stream.trailers = trailers;
    activate(stream);
  }

  /** The stream was reset: drop its queued bytes. */
  void cancel(OutboundStream stream) {
    stream.discard();
    trackWindowStall(stream);
    if (stream.inActiveList) {
      active.remove(stream);
      stream.inActiveList = false;
    }
  }

  /**
   * Applies a WINDOW_UPDATE or a SETTINGS_INITIAL_WINDOW_SIZE delta to one stream's send window;
   * see {@link #updateConnectionWindow} for the rule. Returns false, changing nothing, on overflow.
   */
  @CheckReturnValue
  boolean updateStreamWindow(OutboundStream stream, int delta) {
    if ((long) stream.windowBytes + delta > FrameType.MAX_WINDOW) {
      return false;
    }
    stream.windowBytes += delta;
    activate(stream);
    return true;
  }

  int connectionWindowBytes() {
    return connectionWindowBytes;
  }

  /**
   * Applies a WINDOW_UPDATE to the connection's send window. Send-side flow control has one home:
   * the writer owns the connection window and every stream's ({@link OutboundStream#windowBytes}),
   * emits DATA only within both, and applies every change here. The rule: a change that would
   * take a window above 2^31-1 is refused (false, nothing changes) and the caller raises the
   * error RFC 9113 §6.9.1/§6.9.2 names; a decrease may take a stream window negative (§6.9.2).
   */
  @CheckReturnValue
  boolean updateConnectionWindow(int delta) {
    if ((long) connectionWindowBytes + delta > FrameType.MAX_WINDOW) {
      return false;
    }
    connectionWindowBytes += delta;
    if (connectionWindowBytes > 0) {
      counters.connectionWindowOpened();
    }
    return true;
  }

  void setPeerMaxFrameBytes(int bytes) {
    peerMaxFrameBytes = bytes;
  }

  long bytesWritten() {
    return batch.bytesWritten();
  }

  /** The per-stream summaries' clock ({@link ConnectionCounters#streamNanos}); 0 when off. */
  long streamNanos() {
    return counters.streamNanos();
  }

  long dataFramesWritten() {
    return dataFramesWritten;
  }

  /** Whether bytes are waiting for the socket to become writable. */
  boolean isBlocked() {
    return batch.isBlocked();
  }

  /** Whether either queue is allocated now (tests: released while hibernating). */
  boolean holdsQueues() {
    return control != null || active != null;
  }

  /** Whether anything is queued at all. */
  boolean isIdle() {
    return !batch.isBlocked() && isEmpty(control) && isEmpty(active);
  }

  private void activate(OutboundStream stream) {
    trackWindowStall(stream);
    if (!stream.inActiveList && stream.hasWork()) {
      stream.inActiveList = true;
      if (active == null) {
        active = new ArrayDeque<>(4);
      }
      active.add(stream);
    }
  }

  /**
   * Keeps {@link ConnectionCounters#streamsBlockedOnWindow} in step with the streams that have
   * bytes queued and no send window; called wherever a stream's queue or window changes.
   */
  private void trackWindowStall(OutboundStream s) {
    boolean blocked = !s.closed && s.queuedBytes > 0 && s.windowBytes <= 0;
    if (blocked != s.blockedOnWindow) {
      s.blockedOnWindow = blocked;
      if (blocked) {
        counters.streamBlockedOnWindow(s.queuedBytes);
        s.windowBlockedSinceNanos = counters.streamNanos();
      } else {
        counters.streamUnblocked();
        if (s.windowBlockedSinceNanos != 0) {
          s.windowBlockedNanos += counters.streamNanos() - s.windowBlockedSinceNanos;
          s.windowBlockedSinceNanos = 0;
        }
      }
    }
  }

  /** The socket became writable: finish the blocked buffer, then keep draining. */
  void onWritable() throws IOException {
    if (!batch.isBlocked()) {
      output.setWriteInterest(false);
      return;
    }
    boolean done;
    try {
      done = batch.resume(output);
    } catch (IOException | RuntimeException e) {
      batch.close();
      throw e;
    }
    if (!done) {
      return;
    }
    batch.close();
    output.setWriteInterest(false);
    flush();
  }

  /** Whether a flush is running now (callbacks from inside it must not close the socket). */
  boolean isFlushing() {
    return batch.isOpen() && !batch.isBlocked();
  }

  /** Drains everything the windows allow. Re-entrant calls (from callbacks) do nothing. */
  void flush() throws IOException {
    if (batch.isOpen() || failed) {
      return;
    }
    if (isEmpty(control) && isEmpty(active)) {
      return;
    }
    counters.flushed();
    batch.open(output.gathers());
    try {
      while (true) {
        boolean full = fill();
        if (batch.isEmpty()) {
          return;
        }
        if (!batch.write(output)) {
          output.setWriteInterest(true);
          return;
        }
        if (!full) {
          return;
        }
        batch.reset();
      }
    } finally {
      if (!batch.isBlocked()) {
        batch.close();
      }
    }
  }

  /**
   * Releases every lease the writer holds and drops queued frames; the connection is closed.
   * Streams parked behind their own flow-control window are not in the writer's lists: their
   * owners discard them ({@link OutboundStream#discard}), as both transports do on close.
   */
  void close() {
    failed = true;
    OutboundStream s;
    while (active != null && (s = active.poll()) != null) {
      s.inActiveList = false;
      s.discard();
    }
    // After the discards: a chunk the batch still points into was handed to it, and goes now.
    batch.close();
    if (control != null) {
      control.clear();
    }
  }

  /**
   * Returns a chunk a stream drops to its pool, unless the batch being written may point into it
   * (then the batch releases it once written or closed).
   */
  void releaseQueuedChunk(ByteBuffer chunk, @javax.annotation.Nullable LeanMemoryBudget budget) {
    batch.releaseLater(chunk, budget);
  }

  /** Adds {@code n} of {@code s}'s queued bytes as the payload of the DATA header just framed. */
  void addPayload(ByteBuffer chunk, int n, boolean drained,
      @javax.annotation.Nullable LeanMemoryBudget budget) {
    batch.addPayload(chunk, n, drained, budget);
  }

  /** Fills the batch. Returns true if it stopped because it was full. */
  private boolean fill() throws IOException {
    QueuedItem item;
    while (control != null && (item = control.peek()) != null) {
      // The item type is sealed: a header block or a control frame.
      if (item instanceof HeadersFrame h) {
        writeHeaders(h.streamId(), h.headers(), h.endStream());
      } else {
        ControlFrame f = (ControlFrame) item;
        int size = f.sizeBytes();
        if (size > batch.out().remaining()) {
          if (!batch.isEmpty()) {
            return true;
          }
          batch.ensureFrameRoom(size);
        }
        ByteBuffer out = batch.out();
        int start = out.position();
        f.write(out);
        counters.controlFrameWritten(out, start);
        if (f.isResponse()) {
          queuedResponses--;
        }
      }
      control.poll();
      counters.dequeued();
    }
    return fillData();
  }

  /** Round-robin DATA. Returns true if the buffer filled up. */
  private boolean fillData() throws IOException {
    // Passes continue while some stream made progress; a stream blocked only by the connection
    // window stays in the list for the next WINDOW_UPDATE.
    boolean progress = true;
    while (progress && !isEmpty(active)) {
      progress = false;
      int n = active.size();
      for (int i = 0; i < n; i++) {
        OutboundStream s = active.poll();
        s.inActiveList = false;
        Emit result = emit(s);
        if (result == Emit.FULL) {
          activate(s);
          // Keep the round-robin order: s goes first next time.
          if (active.peekLast() == s) {
            active.pollLast();
            active.addFirst(s);
          }
          return true;
        }
        if (result == Emit.PROGRESS) {
          progress = true;
        }
        if (result == Emit.BLOCKED_ON_CONNECTION) {
          s.inActiveList = true;
          active.add(s);
        } else {
          activate(s);
        }
      }
    }
    return false;
  }

  /** What one turn of {@link #emit} did for a stream. */
  private enum Emit {
    /** A frame (DATA, trailers or an empty END_STREAM) was written. */
    PROGRESS,
    /** The write buffer is too full for a useful frame: write it out, then come back. */
    FULL,
    /** Data is waiting for the connection window only: stays in the active list. */
    BLOCKED_ON_CONNECTION,
    /** Nothing to do now (closed, or waiting for the stream's own window). */
    NOTHING
  }

  private Emit emit(OutboundStream s) throws IOException {
    if (s.closed) {
      return Emit.NOTHING;
    }
    boolean wroteHeaders = false;
    if (s.leadingHeaders != null) {
      // Not flow-controlled (RFC 9113 §6.9): out before any window check.
      Http2Headers headers = s.leadingHeaders;
      s.leadingHeaders = null;
      writeHeaders(s.id, headers, false);
      wroteHeaders = true;
    }
    if (s.queuedBytes > 0) {
      if (s.windowBytes <= 0) {
        return wroteHeaders ? Emit.PROGRESS : Emit.NOTHING;
      }
      if (connectionWindowBytes <= 0) {
        counters.connectionWindowBlocked();
        return Emit.BLOCKED_ON_CONNECTION;
      }
      int n = Math.min(Math.min(s.queuedBytes, s.windowBytes),
          Math.min(connectionWindowBytes, peerMaxFrameBytes));
      if (batch.gathering()) {
        n = s.alignedToChunk(n, WriteBatch.COPY_BELOW_BYTES);
      }
      int room = batch.dataRoom();
      if (room < n) {
        // Split only if a useful amount fits; otherwise write what we have and come back. A
        // gathering batch is not split at its byte cap: the frame waits for the next batch and
        // stays one whole framer buffer.
        if (room < Math.min(n, 1024) || (batch.gathering() && !batch.isEmpty())) {
          return Emit.FULL;
        }
        n = room;
      }
      boolean endStream = n == s.queuedBytes && s.endStreamAfterData && s.trailers == null;
      FrameWriter.writeDataHeader(batch.out(), s.id, n, endStream);
      s.drainTo(this, n);
      s.bytesSent += n;
      dataFramesWritten++;
      counters.dataFrameOut(true);
      output.onStreamFrameWritten();
      s.windowBytes -= n;
      connectionWindowBytes -= n;
      s.listener.onDataSent(n);
      if (endStream) {
        finish(s);
      } else if (s.queuedBytes == 0 && s.trailers != null) {
        // The trailers follow their stream's last DATA frame at once, not a round later.
        finishWithTrailers(s);
      }
      return Emit.PROGRESS;
    }
    if (s.trailers != null) {
      finishWithTrailers(s);
      return Emit.PROGRESS;
    }
    if (s.endStreamAfterData) {
      if (batch.out().remaining() < FrameType.FRAME_HEADER_BYTES) {
        return Emit.FULL;
      }
      FrameWriter.writeDataHeader(batch.out(), s.id, 0, true);
      counters.dataFrameOut(false);
      finish(s);
      return Emit.PROGRESS;
    }
    return wroteHeaders ? Emit.PROGRESS : Emit.NOTHING;
  }

  private void finishWithTrailers(OutboundStream s) {
    writeHeaders(s.id, s.trailers, true);
    finish(s);
  }

  private void finish(OutboundStream s) {
    s.endStreamAfterData = false;
    s.trailers = null;
    s.closed = true;
    s.listener.onOutboundClosed();
  }

  /**
   * Encodes and writes one header block (HEADERS + CONTINUATION). HPACK state changes here, in
   * wire order, so an encoded block is always written: if it does not fit, the batch grows.
   */
  private void writeHeaders(int streamId, Http2Headers headers, boolean endStream) {
    ByteBuf block;
    try {
      block = WriteBatch.encode(encoder, streamId, headers);
    } catch (Http2ConnectionError | Http2StreamError | RuntimeException e) {
      // The encoder checks limits before touching its dynamic table, so only this stream fails.
      output.onHeadersFailed(streamId, e);
      return;
    }
    batch.putHeaderBlock(block, streamId, endStream, peerMaxFrameBytes);
    counters.headersOut();
    output.onStreamFrameWritten();
  }

  /**
   * What the control queue holds, in wire order: a control frame, or a header block that is
   * HPACK-encoded only when written (the encoder's table must change in wire order).
   */
  sealed interface QueuedItem permits ControlFrame, HeadersFrame {}

  /** HEADERS waiting in the control queue. */
  record HeadersFrame(int streamId, Http2Headers headers, boolean endStream)
      implements QueuedItem {}
}
