package dev.grpclean.transport;

import dev.grpclean.transport.frame.Http2StreamError;
import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.internal.AbstractServerStream;
import io.grpc.internal.ReadableBuffer;
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
 * <p>Thread-safe as grpc-core requires: sink methods from any thread; state on the loop, but for
 * the deframer state, which request(n) also touches from application threads under the
 * {@link State}'s monitor.
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

  /**
   * Transport side. Confined to the connection's loop thread, except grpc-core's deframer state,
   * which a request(n) from an application thread also touches: that is guarded by this object's
   * monitor (see {@link #runOnTransportThread}).
   */
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
    /**
     * Loop thread: what DATA and END_STREAM brought while grpc-core did not know the call yet
     * ({@link StartsAfterRead}), in order; null once it knows (or never will).
     */
    @javax.annotation.Nullable private java.util.ArrayList<ReadableBuffer> held;
    private boolean heldEnd;
    /** Bytes the deframer consumed off the loop, not yet returned; see {@link #bytesRead}. */
    private final java.util.concurrent.atomic.AtomicInteger consumedOffLoop =
        new java.util.concurrent.atomic.AtomicInteger();

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

    /** Loop thread: grpc-core is not told of this call before {@link #release}. */
    void hold() {
      held = new java.util.ArrayList<>(2);
    }

    /** Loop thread: held, and neither released nor dropped yet. */
    boolean isHeld() {
      return held != null;
    }

    /**
     * Loop thread, after grpc-core attached its listener: what waited goes to the deframer, or
     * back to its pool with {@code deliver} false (the call could not be started).
     */
    void release(boolean deliver) {
      java.util.ArrayList<ReadableBuffer> frames = held;
      held = null;
      for (int i = 0; i < frames.size(); i++) {
        if (deliver) {
          inboundDataReceived(frames.get(i), heldEnd && i == frames.size() - 1);
        } else {
          frames.get(i).close();
        }
      }
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

    /**
     * The deframer consumed bytes: on the loop they go back to the windows at once; on an
     * application thread (a request(n) run there) they go to the loop ({@link ConsumedOffLoop}).
     */
    @Override
    public void bytesRead(int processedBytes) {
      if (connection.loop.inEventLoop()) {
        StreamBridge.bytesRead(connection, this, processedBytes);
      } else {
        connection.consumedOffLoop.add(this, consumedOffLoop, processedBytes);
      }
    }

    /** Loop thread, from {@link ConsumedOffLoop}: the bytes consumed off the loop so far. */
    int takeConsumedOffLoop() {
      return consumedOffLoop.getAndSet(0);
    }

    @Override
    public void deframeFailed(Throwable cause) {
      // E.g. a request over maxInboundMessageSize: tell the client why (RESOURCE_EXHAUSTED)
      // with trailers when we still can, like grpc-netty, rather than a bare RST_STREAM.
      Status status = Status.fromThrowable(cause);
      if (connection.loop.inEventLoop()) {
        connection.failStream(this, status);
      } else {
        // The deframer failed in a request(n) run on an application thread: the stream's
        // connection state is the loop's.
        onLoop(() -> connection.failStream(this, status));
      }
    }

    /**
     * grpc-core's deframer work (request(n)) runs on the calling thread under this stream's
     * monitor, on the loop or not: an application's request(n) delivers its messages at once,
     * without a round trip through the loop (a task, perhaps a wake-up and two thread hand-offs
     * per call). Every loop-side call into the deframer state ({@link #inboundDataReceived},
     * {@link #reportStatus}, {@link #complete}) holds the same monitor, so it is never touched by
     * two threads at once. Under the monitor nothing waits for the loop: consumed bytes
     * ({@link #bytesRead}) and failures ({@link #deframeFailed}) are handed to it, and grpc-core's
     * listener only queues the callbacks on the call's serializing executor. The loop holds no
     * lock when it takes the monitor, so the order cannot invert. A server whose handlers run on
     * a direct executor and call request(n) from threads of their own get the callbacks on those
     * threads, under the monitor: a handler that blocks there stalls this stream's DATA on the
     * loop (as with grpc-okhttp, whose lock is the transport's).
     *
     * <p>A stopped loop does not matter: a server's loops stop only after its transports closed,
     * and closing reported every call's final status (closing the deframer), so a later request
     * finds nothing to deliver.
     */
    @Override
    public void runOnTransportThread(Runnable r) {
      synchronized (this) {
        r.run();
      }
    }

    /** Loop thread: DATA (or an empty end of stream) for the deframer, under the monitor. */
    @Override
    public void inboundDataReceived(ReadableBuffer frame, boolean endOfStream) {
      if (held != null) {
        held.add(frame);
        heldEnd |= endOfStream;
        return;
      }
      synchronized (this) {
        super.inboundDataReceived(frame, endOfStream);
      }
    }

    /**
     * Loop thread: grpc-core's transportReportStatus (final), under the monitor. A call still
     * held is dropped instead: grpc-core never heard of it, and what waited goes back.
     */
    void reportStatus(Status status) {
      if (held != null) {
        release(false);
        return;
      }
      synchronized (this) {
        transportReportStatus(status);
      }
    }

    /** Loop thread: the call completed; closes the deframer, under the monitor. */
    @Override
    public void complete() {
      synchronized (this) {
        super.complete();
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
