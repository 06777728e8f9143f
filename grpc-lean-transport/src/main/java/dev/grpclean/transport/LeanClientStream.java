package dev.grpclean.transport;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.internal.AbstractClientStream;
import io.grpc.internal.ClientStreamListener.RpcProgress;
import io.grpc.internal.Http2ClientStreamTransportState;
import io.grpc.internal.StatsTraceContext;
import io.grpc.internal.TransportTracer;
import io.grpc.internal.WritableBuffer;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.ByteBuffer;
import java.util.concurrent.RejectedExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;

/**
 * A client call's stream. The {@link Sink} runs on application threads and hands each operation
 * to the connection's loop as a small task; {@link State} runs on the loop thread.
 *
 * <p>Thread-safe as grpc-core requires: sink methods from any thread, state on the loop only.
 */
final class LeanClientStream extends AbstractClientStream {
  private static final Logger log = Logger.getLogger(LeanClientStream.class.getName());
  private final LeanClientTransport transport;
  private final MethodDescriptor<?, ?> method;
  /**
   * The call sends one message and then half-closes (unary, server streaming): its request
   * flushes with its END_STREAM, never before (see {@link Sink}).
   */
  private final boolean oneMessage;
  /** What such a call holds until its request is whole (see {@link HeldRequest}); else null. */
  @Nullable private final HeldRequest held;
  private final State state;
  private final Sink sink = new Sink();
  private final Attributes attributes;

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
  /** The transport's memory budget, or null. */
  @Nullable final LeanMemoryBudget budget;

  LeanClientStream(LeanClientTransport transport, MethodDescriptor<?, ?> method,
      Metadata headers, CallOptions callOptions, StatsTraceContext statsTraceCtx,
      TransportTracer transportTracer, int maxInboundMessageBytes) {
    this(new LeanWritableBuffer.StreamAllocator(transport.factory.settings.memoryBudget),
        transport, method, headers, callOptions,
        statsTraceCtx, transportTracer, maxInboundMessageBytes);
  }

  private LeanClientStream(LeanWritableBuffer.StreamAllocator framerBuffers,
      LeanClientTransport transport, MethodDescriptor<?, ?> method, Metadata headers,
      CallOptions callOptions, StatsTraceContext statsTraceCtx, TransportTracer transportTracer,
      int maxInboundMessageBytes) {
    super(framerBuffers, statsTraceCtx, transportTracer, headers, callOptions, false);
    this.framerBuffers = framerBuffers;
    this.transport = transport;
    this.budget = transport.factory.settings.memoryBudget;
    this.method = method;
    this.oneMessage = method.getType().clientSendsOneMessage();
    this.held = oneMessage ? new HeldRequest() : null;
    this.attributes = transport.getAttributes();
    this.state = new State(maxInboundMessageBytes, statsTraceCtx, transportTracer, callOptions);
  }

  @Override
  protected State transportState() {
    return state;
  }

  @Override
  protected Sink abstractClientStreamSink() {
    return sink;
  }

  @Override
  public void setAuthority(String authority) {
    state.authority = authority;
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
   * {@link StreamBridge#runOnLoop}), or fails the stream if the transport is gone.
   */
  private void onLoop(Runnable task) {
    if (!StreamBridge.runOnLoop(transport.loop, task, transport)) {
      // The poller group is shut down: nothing will ever run for this stream.
      state.failFromOutside(Status.UNAVAILABLE.withDescription("transport event loop stopped"));
    }
  }

  /** Ends {@link #held}: what it held, now the caller's, or null. Any thread. */
  @Nullable
  private HeldRequest.Released releaseHeld() {
    return held == null ? null : held.release();
  }

  /**
   * {@code task}, after the transport work {@code r} held for it (if any); the held buffer, if
   * any, goes back to its pool now: {@code task} ends the call without sending it.
   */
  private Runnable afterHeldWorkDroppingData(@Nullable HeldRequest.Released r, Runnable task) {
    if (r == null) {
      return task;
    }
    r.releaseData(budget);
    return r.work() == null ? task : () -> {
      r.runWork(state::runSerialized);
      task.run();
    };
  }

  final class Sink implements AbstractClientStream.Sink {
    /*
     * The request headers of a call that sends one message (unary, server streaming) wait here
     * and open the stream in the task of its write that goes (END_STREAM, which follows at once,
     * with the message and grpc-core's request(n) that HeldRequest keeps): one loop task per
     * request instead of three. They never flush alone anyway (see
     * State#flushesHeadersAlone). A call cancelled before that write never opens its stream
     * (cancelStream reports a stream that has none). Headers hold no lease, so dropping them is
     * free. Writing thread only (grpc-core makes a stream's write calls from one thread at a
     * time).
     */
    @Nullable private Http2Headers heldHeaders;

    @Override
    public void writeHeaders(Metadata metadata, @Nullable byte[] payload) {
      String path = "/" + method.getFullMethodName();
      String authority = state.authority != null ? state.authority : transport.authority;
      Http2Headers headers = GrpcHeaders.clientRequest(metadata, transport.scheme, path,
          authority, transport.userAgent);
      if (oneMessage) {
        heldHeaders = headers;
        return;
      }
      onLoop(() -> transport.startStream(state, headers));
    }

    @Override
    public void writeFrame(@Nullable WritableBuffer frame, boolean endOfStream, boolean flush,
        int numMessages) {
      // No bytes still sends: endOfStream alone is a frame.
      ByteBuffer data = StreamBridge.takeFrame(frame);
      if (refusedByBudget) {
        // The call is failing: nothing more goes out (later framer buffers discard their bytes
        // and come here empty; one taken before the refusal goes back).
        if (data != null) {
          LeanBuffers.releaseOutbound(data);
        }
        return;
      }
      boolean refusedAtAllocation = data == null && budget != null
          && framerBuffers.refusedAtAllocation();
      if (refusedAtAllocation
          || (data != null && budget != null && !reserveOutbound(data, numMessages))) {
        // Past the limit (written although isReady() was false, or a race for the last
        // bytes), here or when the framer's buffer was allocated: fail this call rather than
        // hold more than the budget.
        if (data != null) {
          LeanBuffers.releaseOutbound(data);
        }
        refusedByBudget = true;
        heldHeaders = null;
        framerBuffers.discardFromNow();
        // isReady() turns false on this thread at once, so a writer that honours it stops now
        // rather than when the loop has failed the call (the bytes are never given back: the
        // stream is ending).
        onSendingBytes(BudgetHold.HOLD_BYTES);
        Status status = budget.refuseWrite();
        onLoop(afterHeldWorkDroppingData(releaseHeld(),
            () -> transport.cancelStream(state, status)));
        return;
      }
      int sending = StreamBridge.sendingBytes(data);
      if (sending > 0) {
        onSendingBytes(sending);
      }
      // A call that sends one message flushes with its END_STREAM only: ClientCallImpl does not
      // flush such a message, as the half-close follows at once, but the retry buffer's replay
      // (RetriableStream, on by default) does, which split about one request in ten over two
      // writes. A buffer that ends inside a message flushes, so a large message streams while
      // it is framed.
      boolean flushNow = endOfStream || numMessages == 0 || (flush && !oneMessage);
      if (held != null && !flushNow && data != null && held.holdData(data, numMessages)) {
        // The message waits for its END_STREAM, which follows at once: one task for both.
        return;
      }
      Http2Headers headers = heldHeaders;
      heldHeaders = null;
      HeldRequest.Released earlier = releaseHeld();
      Runnable send = headers == null && earlier == null
          ? () -> transport.sendData(state, data, endOfStream, numMessages, flushNow)
          : () -> {
            if (earlier != null) {
              earlier.runWork(state::runSerialized);
            }
            if (headers != null) {
              transport.startStream(state, headers);
            }
            if (earlier != null && earlier.data() != null) {
              transport.sendData(state, earlier.data(), false, earlier.dataMessages(), false);
            }
            transport.sendData(state, data, endOfStream, numMessages, flushNow);
          };
      if (!StreamBridge.runOnLoop(transport.loop, send, transport)) {
        // The poller group is shut down: the chunks and their budget charges go back, and
        // nothing will ever run for this stream.
        if (data != null) {
          OutboundStream.releaseChunk(data, budget);
        }
        if (earlier != null) {
          earlier.releaseData(budget);
        }
        state.failFromOutside(Status.UNAVAILABLE.withDescription("transport event loop stopped"));
      }
    }

    @Override
    public void cancel(Status status) {
      onLoop(afterHeldWorkDroppingData(releaseHeld(),
          () -> transport.cancelStream(state, status)));
    }
  }

  /** Loop-thread side of the stream. Confined to the connection's loop thread. */
  final class State extends Http2ClientStreamTransportState
      implements H2Stream, OutboundStream.Listener {
    volatile String authority;
    int id = -1;
    OutboundStream outbound;
    InboundFlow inbound;
    Http2Headers pendingHeaders;
    boolean started;
    boolean cancelled;
    boolean remoteClosed;
    boolean localClosed;
    boolean headersReceived;
    /**
     * The transport is finished with this stream (status reported or stream removed): bytes the
     * framer still delivers are released at once instead of queued where nobody drains them.
     * Volatile: also read by application threads once the loop is gone (runOnTransportThread).
     */
    volatile boolean done;
    /** Holds isReady() false under memory pressure; null without a budget. */
    @javax.annotation.Nullable final BudgetHold budgetHold;
    /** Inbound bytes this call holds under the budget; null without one. Set once on the loop. */
    @javax.annotation.Nullable BudgetAccount inboundAccount;

    State(int maxMessageSize, StatsTraceContext statsTraceCtx, TransportTracer transportTracer,
        CallOptions callOptions) {
      super(maxMessageSize, statsTraceCtx, transportTracer, callOptions);
      this.budgetHold = budget == null ? null
          : new BudgetHold(budget, LeanClientStream.this::onSendingBytes, this::onSentBytes,
              transport::awaitBudget);
    }

    /**
     * Whether the headers flush as soon as the stream has an id. Not for a call that sends one
     * message (unary, server streaming): it ends its request with that message and END_STREAM
     * right after, in a write that flushes, so the headers wait for it and one request leaves in
     * one write, as grpc-netty does (its CreateStreamCommand is not flushed for such calls).
     */
    boolean flushesHeadersAlone() {
      return !oneMessage;
    }

    boolean countsForInUse() {
      return shouldBeCountedForInUse();
    }

    void allocated(int streamId, int sendWindowBytes, int receiveWindowBytes,
        LoopyWriter writer) {
      id = streamId;
      OutboundStream early = outbound;
      outbound = new OutboundStream(streamId, sendWindowBytes, this, writer, budget);
      if (early != null) {
        // Data written before the stream had an id moves to the allocated stream.
        early.moveTo(outbound);
      }
      inbound = new InboundFlow(receiveWindowBytes);
      onStreamAllocated();
    }

    /** Before allocation, data waits in a placeholder that the writer does not see. */
    OutboundStream earlyOutbound(LoopyWriter writer) {
      if (outbound == null) {
        outbound = new OutboundStream(0, 0, this, writer, budget);
      }
      return outbound;
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
    public int deliverData(ByteBuffer data, boolean endStream) {
      transportDataReceived(InboundData.copyOf(data, inboundAccount), endStream);
      return 0;
    }

    void headersReceived(Metadata metadata, boolean endOfStream) {
      if (endOfStream) {
        transportTrailersReceived(metadata);
      } else {
        headersReceived = true;
        transportHeadersReceived(metadata);
      }
    }

    void failFromOutside(Status status) {
      // Only reached when the loop is gone; grpc-core tolerates a report from this thread then.
      transportReportStatus(status, RpcProgress.PROCESSED, true, new Metadata());
    }

    @Override
    protected void http2ProcessingFailed(Status status, boolean stopDelivery, Metadata trailers) {
      transport.resetStream(this, dev.grpclean.transport.frame.ErrorCode.CANCEL, status,
          stopDelivery, trailers);
    }

    @Override
    public void bytesRead(int processedBytes) {
      StreamBridge.bytesRead(transport.connection(), this, processedBytes);
    }

    @Override
    public void deframeFailed(Throwable cause) {
      http2ProcessingFailed(Status.fromThrowable(cause), true, new Metadata());
    }

    @Override
    public void runOnTransportThread(Runnable r) {
      if (transport.loop.inEventLoop()) {
        runSerialized(r);
        return;
      }
      if (held != null && held.holdWork(r)) {
        // Runs in the task of the call's request (see HeldRequest).
        return;
      }
      try {
        transport.loop.execute(() -> runSerialized(r));
      } catch (RejectedExecutionException e) {
        if (!done) {
          failFromOutside(Status.UNAVAILABLE.withDescription("transport event loop stopped"));
          return;
        }
        // The transport is finished with this stream (its last frame is in), but grpc-core still
        // holds messages the application has not asked for, and each request() lands here. The
        // loop may be gone by then: graceful shutdown lets a channel terminate, and stop its own
        // poller group, as soon as its transports have no stream left. Nothing on the transport
        // side touches a finished stream any more, so its deframer work runs on the caller's
        // thread, serialized with any such work the dying loop still drains.
        runSerialized(r);
      }
    }

    /**
     * Runs grpc-core's transport-thread work for this stream under its monitor: uncontended while
     * the loop runs it all, it orders the loop's last tasks with work run by callers after the
     * loop stopped (see runOnTransportThread).
     */
    synchronized void runSerialized(Runnable r) {
      r.run();
    }

    @Override
    public void onDataSent(int bytes) {
      onSentBytes(bytes);
    }

    @Override
    public void onOutboundClosed() {
      localClosed = true;
      transport.maybeRemoveStream(this);
    }

    /** The transport is finished with this stream; see {@link #done}. */
    void markDone() {
      done = true;
      // A call failed before its request went out: what it held goes now (see HeldRequest).
      HeldRequest.Released r = releaseHeld();
      if (r != null) {
        r.releaseData(budget);
        r.runWork(this::runSerialized);
      }
      framerBuffers.streamFinished();
    }

    void report(Status status, RpcProgress progress, boolean stopDelivery, Metadata trailers) {
      markDone();
      if (outbound != null && id < 0) {
        outbound.discard();
      }
      try {
        transportReportStatus(status, progress, stopDelivery, trailers);
      } catch (RuntimeException e) {
        // grpc-core passes the status on through the call's executor, which may reject it (shut
        // down, or saturated with no queue); then nobody can tell the application anyway. Thrown
        // into the loop it would stop the cleanup half-way: the connection's other streams
        // never learn and the transport never terminates, so the channel keeps using a dead one.
        log.log(Level.WARNING, "the application could not be told stream " + id
            + " closed with " + status, e);
      }
    }
  }
}
