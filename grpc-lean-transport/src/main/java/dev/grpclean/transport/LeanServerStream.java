package dev.grpclean.transport;

import dev.grpclean.transport.frame.Http2StreamError;
import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.internal.AbstractServerStream;
import io.grpc.internal.ServerStreamListener;
import io.grpc.internal.StatsTraceContext;
import io.grpc.internal.StreamListener.MessageProducer;
import io.grpc.internal.TransportTracer;
import io.grpc.internal.WritableBuffer;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.ByteBuffer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A server call's stream. The {@link Sink} runs on application threads and hands each operation
 * to the connection's loop; {@link State} lives on the loop thread.
 *
 * <p>Thread-safe as grpc-core requires: sink methods from any thread, state on the loop only.
 */
final class LeanServerStream extends AbstractServerStream {
  private static final Logger log = Logger.getLogger(LeanServerStream.class.getName());
  private final ServerConnection connection;
  private final State state;
  private final Sink sink;
  private final Attributes attributes;
  private final String authority;

  private final LeanWritableBuffer.StreamAllocator framerBuffers;
  /**
   * The framer's last buffer ended inside a message (it completed none): the next one continues a
   * message that is not small. Touched by the thread writing this stream's messages only
   * (grpc-core calls writeFrame for a stream from one thread at a time).
   */
  private boolean midMessage;
  /**
   * The budget refused one of this stream's buffers and its call is being failed: later buffers
   * are dropped at once, with no more work queued on the loop. Without this, a writer that keeps
   * writing until grpc-core reports the cancellation queued a task, a Status and its message per
   * refused 64 KiB buffer (the bench's slow reader: 250,000 of them, ~90 MiB of live heap).
   * Writing thread only, like {@link #midMessage}.
   */
  private boolean refusedByBudget;
  /** The connection's memory budget, or null. */
  @javax.annotation.Nullable private final LeanMemoryBudget budget;

  LeanServerStream(ServerConnection connection, int streamId, String authority,
      StatsTraceContext statsTraceCtx, TransportTracer transportTracer, int maxMessageBytes,
      int receiveWindowBytes, int sendWindowBytes, LoopyWriter writer) {
    this(new LeanWritableBuffer.StreamAllocator(connection.budget,
            LeanWritableBuffer.SERVER_BUFFER_BYTES), connection, streamId,
        authority, statsTraceCtx,
        transportTracer, maxMessageBytes, receiveWindowBytes, sendWindowBytes, writer);
  }

  private LeanServerStream(LeanWritableBuffer.StreamAllocator framerBuffers,
      ServerConnection connection, int streamId, String authority,
      StatsTraceContext statsTraceCtx, TransportTracer transportTracer, int maxMessageBytes,
      int receiveWindowBytes, int sendWindowBytes, LoopyWriter writer) {
    super(framerBuffers, statsTraceCtx);
    this.framerBuffers = framerBuffers;
    this.connection = connection;
    this.budget = connection.budget;
    this.authority = authority;
    this.attributes = connection.transportAttributes();
    this.state = new State(streamId, maxMessageBytes, statsTraceCtx, transportTracer,
        receiveWindowBytes, sendWindowBytes, writer);
    this.sink = new Sink();
  }

  @Override
  protected State transportState() {
    return state;
  }

  @Override
  protected Sink abstractServerStreamSink() {
    return sink;
  }

  @Override
  public int streamId() {
    return state.id;
  }

  @Override
  public String getAuthority() {
    return authority;
  }

  @Override
  public Attributes getAttributes() {
    return attributes;
  }

  /**
   * Charges a framer buffer to the budget (see {@link LeanMemoryBudget#tryReserveOutbound}): a
   * buffer of whole messages only may use the budget up to its limit, part of a larger message
   * only below the pressure mark. Writing thread.
   */
  private boolean reserveOutbound(ByteBuffer bytes, int numMessages) {
    boolean wholeMessages = numMessages > 0 && !midMessage;
    midMessage = numMessages == 0;
    return budget.tryReserveOutbound(bytes.capacity(), wholeMessages);
  }

  /**
   * Runs {@code task} on the loop (a throwable escaping it fails the connection, see
   * {@link StreamBridge#runOnLoop}). Dropped if the poller stopped: the connection is gone with
   * it; nothing left to do.
   */
  private void onLoop(Runnable task) {
    StreamBridge.runOnLoop(connection.loop, task, connection);
  }

  /**
   * The application side. Its operations reach the loop through the {@link OutboundHandOff} it
   * is: response headers, framer buffers and trailers wait there and go in one loop task (see
   * that class for when). Response headers written without a flush (a call that sends one
   * message: unary, client streaming) wait for the stream's next write, so the loop's end-of-batch
   * flush does not send them alone ahead of the message; a buffer of whole messages written
   * without a flush (the framer's last one, just before the trailers) waits for the trailers, so
   * a unary response leaves in one write and one loop task. A buffer that ends inside a message
   * asks for a flush, so a large message streams while it is framed. What waits when the stream
   * leaves its connection goes back to its pool ({@link State#removed}).
   */
  final class Sink extends OutboundHandOff implements AbstractServerStream.Sink {
    Sink() {
      super(connection.loop, budget);
    }

    @Override
    public void writeHeaders(Metadata metadata, boolean flush) {
      offerHeaders(GrpcHeaders.serverResponse(metadata), flush);
    }

    @Override
    public void writeFrame(WritableBuffer frame, boolean flush, int numMessages) {
      ByteBuffer bytes = StreamBridge.takeFrame(frame);
      if (bytes == null) {
        // The stream is gone (its framer's buffer was disowned), or the allocator refused the
        // buffer for the budget and it discarded the bytes.
        if (budget != null && !refusedByBudget && framerBuffers.refusedAtAllocation()) {
          refuseForBudget();
        }
        return;
      }
      // Delivered and detached: grpc-core's framer holds the buffer object no more.
      framerBuffers.recycle((LeanWritableBuffer) frame);
      if (budget != null && (refusedByBudget || !reserveOutbound(bytes, numMessages))) {
        // Past the limit (the application wrote although isReady() was false, or raced others
        // for the last bytes): fail this call rather than hold more than the budget.
        LeanBuffers.releaseOutbound(bytes);
        if (!refusedByBudget) {
          refuseForBudget();
        }
        return;
      }
      int sending = StreamBridge.sendingBytes(bytes);
      if (sending > 0) {
        onSendingBytes(sending);
      }
      offerData(bytes, numMessages, flush || numMessages == 0, flush);
    }

    // Loop side of the hand-over.

    @Override
    void sendHeaders(Http2Headers headers) {
      connection.sendHeaders(state, headers, false);
    }

    @Override
    void sendData(ByteBuffer chunk, int numMessages) {
      connection.sendData(state, chunk, numMessages, false);
    }

    @Override
    void sendTrailers(Http2Headers trailers) {
      connection.sendTrailers(state, trailers);
    }

    @Override
    void requestFlush() {
      connection.requestFlush();
    }

    @Override
    void onLoopFailure(Throwable t) {
      connection.onLoopFailure(t);
    }

    /** Fails this call for the budget, once. Writing thread. */
    private void refuseForBudget() {
      refusedByBudget = true;
      // The rest of the message (grpc-core frames all of it) goes into buffers that hold no
      // array: nothing to lease, fill and drop for a call that is failing.
      framerBuffers.discardFromNow();
      // isReady() turns false on this thread at once, so a writer that honours it stops now
      // rather than when the loop has failed the call (the bytes are never given back: the
      // stream is ending).
      onSendingBytes(BudgetHold.HOLD_BYTES);
      Status status = budget.refuseWrite();
      // What waits (headers, buffers of earlier messages) goes first, as with every write.
      offerNow();
      onLoop(() -> connection.cancelStream(state, status));
    }

    @Override
    public void writeTrailers(Metadata trailers, boolean headersSent, Status status) {
      offerTrailers(GrpcHeaders.serverTrailers(trailers, headersSent));
    }

    @Override
    public void cancel(Status status) {
      onLoop(() -> connection.cancelStream(state, status));
    }
  }

  /** Loop-thread side. Confined to the connection's loop thread. */
  final class State extends AbstractServerStream.TransportState
      implements H2Stream, OutboundStream.Listener {
    final int id;
    final OutboundStream outbound;
    final InboundFlow inbound;
    boolean remoteClosed;
    boolean localClosed;
    boolean cancelled;
    boolean headersSent;
    /** The request's declared content-length, checked against its DATA. */
    ContentLength contentLength;
    /** Carries failStream's trailers after the regular outbound state was cancelled. */
    OutboundStream failureOutbound;
    /** Holds isReady() false under memory pressure; null without a budget. */
    @javax.annotation.Nullable final BudgetHold budgetHold;
    /** Inbound bytes this call holds under the budget; null without one. Set once on the loop. */
    @javax.annotation.Nullable BudgetAccount inboundAccount;

    State(int id, int maxMessageBytes, StatsTraceContext statsTraceCtx,
        TransportTracer transportTracer, int receiveWindowBytes, int sendWindowBytes,
        LoopyWriter writer) {
      super(maxMessageBytes, statsTraceCtx, transportTracer);
      this.id = id;
      this.outbound = new OutboundStream(id, sendWindowBytes, this, writer, budget);
      this.inbound = new InboundFlow(receiveWindowBytes);
      this.budgetHold = budget == null ? null
          : new BudgetHold(budget, LeanServerStream.this::onSendingBytes, this::onSentBytes,
              connection::awaitBudget);
    }

    @Override
    public BudgetHold budgetHold() {
      return budgetHold;
    }

    @Override
    public int id() {
      return id;
    }

    @Override
    public BudgetAccount inboundAccount() {
      return inboundAccount;
    }

    @Override
    public InboundFlow inbound() {
      return inbound;
    }

    @Override
    public OutboundStream outbound() {
      return outbound;
    }

    @Override
    public boolean isRemoteClosed() {
      return remoteClosed;
    }

    @Override
    public void markRemoteClosed() {
      remoteClosed = true;
    }

    @Override
    public int deliverData(ByteBuffer data, boolean endStream) throws Http2StreamError {
      contentLength.onData(id, data.remaining(), endStream);
      inboundDataReceived(InboundData.copyOf(data, inboundAccount), endStream);
      return 0;
    }

    void started() {
      onStreamAllocated();
    }

    @Override
    public void bytesRead(int processedBytes) {
      StreamBridge.bytesRead(connection, this, processedBytes);
    }

    @Override
    public void deframeFailed(Throwable cause) {
      // E.g. a request over maxInboundMessageSize: tell the client why (RESOURCE_EXHAUSTED)
      // with trailers when we still can, like grpc-netty, rather than a bare RST_STREAM.
      connection.failStream(this, Status.fromThrowable(cause));
    }

    /**
     * Unlike the client's (see {@link LeanClientStream.State#runOnTransportThread}), work is
     * dropped once the loop is gone: a server's loops stop only after its transports closed, and
     * closing reported every call's final status, after which grpc-core hands the application no
     * more messages; there is no finished call whose buffered messages are still being read.
     */
    @Override
    public void runOnTransportThread(Runnable r) {
      if (connection.loop.inEventLoop()) {
        r.run();
      } else {
        // grpc-core's own work (deframing, request()): not a transport operation, so not guarded
        // like the sink's; it fails its stream through deframeFailed.
        connection.loop.executeOrDrop(r);
      }
    }

    @Override
    public void onDataSent(int bytes) {
      onSentBytes(bytes);
    }

    @Override
    public void onOutboundClosed() {
      localClosed = true;
      connection.onOutboundClosed(this);
    }

    /** Whether grpc-core has attached its listener (it throws on some requests before). */
    boolean hasListener() {
      return listener() != null;
    }

    /**
     * The stream left the connection: whatever its framer still holds, or waits in the sink for
     * the loop, is never sent; it goes back to its pool.
     */
    void removed() {
      framerBuffers.streamFinished();
      sink.close();
    }

    @Override
    protected ServerStreamListener listener() {
      return super.listener() == null ? null : guardedListener;
    }

    /**
     * grpc-core's listener, with {@code closed} made safe to call on the loop thread. grpc-core
     * passes the status on through the server's executor, which may reject it (shut down, or
     * saturated with no queue); then nobody can tell the application anyway, while an exception
     * thrown into the loop would stop its cleanup half-way: the connection's other streams never
     * learn, the transport never terminates, and the server never finishes shutting down. So the
     * rejection is logged and dropped. The other callbacks still throw: the transport fails the
     * stream or connection they were for.
     */
    private final ServerStreamListener guardedListener = new ServerStreamListener() {
      @Override
      public void messagesAvailable(MessageProducer producer) {
        State.super.listener().messagesAvailable(producer);
      }

      @Override
      public void halfClosed() {
        State.super.listener().halfClosed();
      }

      @Override
      public void onReady() {
        State.super.listener().onReady();
      }

      @Override
      public void closed(Status status) {
        try {
          State.super.listener().closed(status);
        } catch (RuntimeException e) {
          log.log(Level.WARNING, "the application could not be told stream " + id
              + " closed with " + status, e);
        }
      }
    };
  }
}
