package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;
import dev.grpclean.transport.frame.Settings;
import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.StatsTraceContext;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ScheduledExecutorService;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP/2 side of one accepted connection: server stream creation and header rules, GOAWAY and
 * the keepalive policy; {@link LeanServerTransport} adapts it to grpc-core's lifecycle.
 *
 * <p>Confined to the connection's loop thread.
 */
final class ServerConnection extends Http2Connection implements HttpErrorStream.Owner {
  private static final Logger log = Logger.getLogger(ServerConnection.class.getName());

  private final LeanServerTransport transport;
  private final ServerConfig serverConfig;
  /** Rapid Reset accounting; null until a stream is reset (most connections never see one). */
  private ResetBudget resetBudget;
  /** The highest stream id the client opened. */
  int lastStreamId;
  /** Tells grpc-core a call is complete after the write of its END_STREAM, not before. */
  private final CompletionsAfterWrite completions = new CompletionsAfterWrite(loop, writer, this);
  /** Bytes consumed by request(n) run on application threads, on their way back (any thread). */
  final ConsumedOffLoop consumedOffLoop = new ConsumedOffLoop(this);
  /** New calls wait for the end of the read that opened them. */
  private final StartsAfterRead starts = new StartsAfterRead(this);

  /** The transport's attributes as they are now (the security handshake adds to them). */
  Attributes transportAttributes() {
    return transport.attributes();
  }

  /** The gRPC call on stream {@code id}, or null (none, or a non-gRPC request's error stream). */
  private LeanServerStream.State call(int id) {
    H2Stream s = streams.get(id);
    return s instanceof LeanServerStream.State ? (LeanServerStream.State) s : null;
  }

  /** Open streams, gRPC calls and error responses alike: what the concurrency limit counts. */
  int openStreams() {
    return streams.size();
  }

  @Override
  public void onErrorResponseSent(HttpErrorStream e) {
    e.localClosed = true;
    if (e.remoteClosed) {
      removeErrorStream(e);
    }
    // Else half-closed (local) until the client ends or resets it, like grpc-netty: its
    // frames are still checked (RFC 9113 §5.1), and it counts against the stream limit.
  }

  /** The first stream opened: the connection is in use. */
  void onStreamActive() {
    transport.keepAlive.onCallsOpen();
    if (transport.maxIdle != null) {
      transport.maxIdle.onStreamsOpen();
    }
  }

  /** A stream went away; when it was the last, the connection is idle (or may close). */
  void onStreamGone() {
    if (openStreams() != 0) {
      return;
    }
    transport.keepAlive.onCallsIdle();
    if (transport.maxIdle != null) {
      transport.maxIdle.onStreamsIdle();
    }
    if (transport.gracefulShutdown && transport.secondGoAwaySent) {
      sendGoAwayAndClose(ErrorCode.NO_ERROR, null,
          Status.UNAVAILABLE.withDescription("server shut down"));
    }
  }

  private void removeErrorStream(HttpErrorStream e) {
    if (StreamRules.unregister(this, e)) {
      onStreamGone();
    }
  }

  ServerConnection(LeanServerTransport transport, SocketChannel channel) {
    super(transport.loop, channel, transport.serverConfig.settings, true);
    this.transport = transport;
    this.serverConfig = transport.serverConfig;
  }

  @Override
  void onSecureChannelReady(Attributes securityAttrs,
      io.grpc.InternalChannelz.Security security) {
    transport.secured(securityAttrs, security);
    Settings settings = new Settings()
        .set(Settings.MAX_CONCURRENT_STREAMS, serverConfig.maxConcurrentStreams)
        .set(Settings.INITIAL_WINDOW_SIZE, serverConfig.settings.flowControlWindowBytes)
        .set(Settings.MAX_HEADER_LIST_SIZE, serverConfig.settings.maxInboundMetadataBytes);
    sendInitialSettings(settings);
  }

  @Override
  java.util.concurrent.ScheduledExecutorService scheduler() {
    return serverConfig.scheduler;
  }

  /** The transport this connection serves (tests). */
  LeanServerTransport transport() {
    return transport;
  }

  @Override
  void onHibernate() {
    transport.hibernateTracer();
  }

  @Override
  void onBytesRead() {
    transport.onBytesRead();
  }

  @Override
  void onPeerSettingsApplied(boolean first) {
    if (first) {
      if (transport.handshakeTimer != null) {
        transport.handshakeTimer.cancel(false);
        transport.handshakeTimer = null;
      }
      transport.attributes = transport.listener.transportReady(transport.attributes);
    }
  }

  @Override
  public void onHeaders(int streamId, ByteBuffer headerBlock, boolean endStream)
      throws Http2ConnectionError, Http2StreamError {
    if ((streamId & 1) == 0) {
      throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR,
          "clients cannot open even-numbered streams (RFC 9113 §5.1.1)");
    }
    H2Stream open = streams.get(streamId);
    LeanServerStream.State existing = open instanceof LeanServerStream.State
        ? (LeanServerStream.State) open : null;
    HttpErrorStream existingError = open instanceof HttpErrorStream ? (HttpErrorStream) open : null;
    boolean isNew = open == null && streamId > lastStreamId;
    if (isNew) {
      lastStreamId = streamId;
    }
    // Decode first, always: HPACK state must follow every block even for refused streams.
    Http2Headers headers;
    try {
      headers = decoder.decode(streamId, headerBlock);
    } catch (Http2StreamError e) {
      if (isNew && e.getCause() instanceof Http2Exception.HeaderListSizeException) {
        // Like grpc-netty: answer 431 so the client sees RESOURCE_EXHAUSTED, not a reset.
        respondWithHttpError(streamId, endStream, 431, Status.Code.RESOURCE_EXHAUSTED,
            "Header size exceeded max allowed size ("
                + serverConfig.settings.maxInboundMetadataBytes + ")", null);
        return;
      }
      throw e;
    }
    if (existing != null) {
      onTrailers(existing, endStream);
      return;
    }
    if (existingError != null) {
      if (existingError.remoteClosed) {
        throw new Http2StreamError(streamId, ErrorCode.STREAM_CLOSED,
            "HEADERS on a half-closed (remote) stream (RFC 9113 §5.1)");
      }
      if (!endStream) {
        throw HttpErrorStream.protocolError(streamId, "unexpected HEADERS (RFC 9113 §8.1)");
      }
      existingError.contentLength.onData(streamId, 0, true);
      existingError.remoteClosed = true;
      if (existingError.localClosed) {
        removeErrorStream(existingError);
      }
      return;
    }
    if (!isNew) {
      // RFC 9113 §5.1.1: a new stream id must exceed every id the client used before.
      throw new Http2ConnectionError(ErrorCode.STREAM_CLOSED,
          "HEADERS on closed stream " + streamId);
    }
    if (streamId > transport.goAwayStreamId || closing.isDraining()) {
      return;
    }
    if (openStreams() >= serverConfig.maxConcurrentStreams) {
      throw new Http2StreamError(streamId, ErrorCode.REFUSED_STREAM,
          "max concurrent streams (" + serverConfig.maxConcurrentStreams + ") reached");
    }
    if (budget != null && budget.isExhausted()) {
      // The memory budget is spent: REFUSED_STREAM tells the client nothing was processed, so
      // grpc-java retries transparently (RFC 9113 §8.7).
      budget.streamRefused();
      throw new Http2StreamError(streamId, ErrorCode.REFUSED_STREAM,
          "grpc-lean memory budget exhausted");
    }
    createStream(streamId, headers, endStream);
  }

  private void onTrailers(LeanServerStream.State s, boolean endStream)
      throws Http2StreamError {
    if (!endStream) {
      throw new Http2StreamError(s.id, ErrorCode.PROTOCOL_ERROR,
          "HEADERS in the middle of a stream (RFC 9113 §8.1)");
    }
    if (s.remoteClosed) {
      throw new Http2StreamError(s.id, ErrorCode.STREAM_CLOSED,
          "HEADERS on a half-closed (remote) stream");
    }
    // gRPC requests carry no trailers; accept and ignore them, but honour END_STREAM.
    s.remoteClosed = true;
    s.inboundDataReceived(io.grpc.internal.ReadableBuffers.empty(), true);
  }

  private void createStream(int streamId, Http2Headers headers, boolean endStream)
      throws Http2StreamError {
    CharSequence method = headers.method();
    CharSequence path = headers.path();
    CharSequence scheme = headers.scheme();
    if (method == null || path == null || scheme == null) {
      throw new Http2StreamError(streamId, ErrorCode.PROTOCOL_ERROR,
          "missing a required pseudo-header (RFC 9113 §8.3.1)");
    }
    if (path.length() == 0 || path.charAt(0) != '/') {
      respondWithHttpError(streamId, endStream, 404, Status.Code.UNIMPLEMENTED,
          "Expected path to start with /: " + path, headers);
      return;
    }
    CharSequence contentType = headers.get(GrpcHeaders.CONTENT_TYPE);
    if (contentType == null || !GrpcUtil.isGrpcContentType(contentType.toString())) {
      respondWithHttpError(streamId, endStream, 415, Status.Code.INTERNAL,
          contentType == null ? "Content-Type is missing from the request"
              : "Content-Type is not supported: " + contentType, headers);
      return;
    }
    if (!AsciiString.contentEquals(GrpcHeaders.POST, method)) {
      respondWithHttpError(streamId, endStream, 405, Status.Code.INTERNAL,
          "HTTP Method is not supported: " + method, headers);
      return;
    }
    ContentLength contentLength = ContentLength.of(streamId, headers);
    if (endStream) {
      contentLength.onData(streamId, 0, true);
    }
    String fullMethod = path.toString().substring(1);
    CharSequence authority = headers.authority();
    if (authority == null) {
      authority = headers.get("host");
    }
    Metadata metadata = GrpcHeaders.toMetadata(headers, false);
    StatsTraceContext statsTraceCtx =
        StatsTraceContext.newServerContext(serverConfig.streamTracerFactories, fullMethod, metadata);
    LeanServerStream stream = new LeanServerStream(this, streamId,
        authority == null ? null : authority.toString(), statsTraceCtx, transport.tracer(),
        serverConfig.settings.maxInboundMessageBytes, localInitialWindowBytes(),
        settings.peerInitialWindowBytes, writer);
    LeanServerStream.State s = stream.transportState();
    s.contentLength = contentLength;
    s.inboundAccount = newStreamAccount();
    if (openStreams() == 0) {
      onStreamActive();
    }
    streams.put(streamId, s);
    starts.hold(stream, fullMethod, metadata);
    if (endStream) {
      s.remoteClosed = true;
      s.inboundDataReceived(io.grpc.internal.ReadableBuffers.empty(), true);
    }
  }

  /** The read's frames are dispatched: the calls they opened start now. */
  @Override
  public void socketReadDone() {
    try {
      starts.startAll();
    } catch (Http2ConnectionError e) {
      closing.onConnectionError(e);
    }
    super.socketReadDone();
  }

  /**
   * Answers a request that is not gRPC with a plain HTTP status and a text body (gRPC HTTP/2
   * protocol), on a tracked stream that lives until the body has left; {@code request} is null
   * when the request's headers could not be decoded.
   */
  private void respondWithHttpError(int streamId, boolean endStream, int httpCode,
      Status.Code code, String message, Http2Headers request) {
    ContentLength length;
    try {
      length = HttpErrorStream.requestLength(streamId, request, endStream);
    } catch (Http2StreamError e) {
      sendRst(streamId, e.code());
      return;
    }
    HttpErrorStream e = new HttpErrorStream(streamId, settings.peerInitialWindowBytes,
        localInitialWindowBytes(), length, request, this, writer);
    e.remoteClosed = endStream;
    if (openStreams() == 0) {
      onStreamActive();
    }
    streams.put(streamId, e);
    e.enqueueResponse(writer, httpCode, code, message);
    requestFlush();
  }

  @Override
  public void onStreamFrameWritten() {
    transport.keepAlive.resetPingStrikes();
  }

  @Override
  void onPingRequest(long payload) throws Http2ConnectionError {
    if (!transport.keepAlive.pingAcceptable()) {
      throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too_many_pings");
    }
  }

  @Override
  void onPingAck(long payload) {
    if (payload == LeanServerTransport.GRACEFUL_SHUTDOWN_PING) {
      transport.sendSecondGoAway();
    }
  }

  @Override
  public void onGoAway(int lastStreamId, long errorCode, ByteBuffer debugData) {
    counters.goAwayReceived(errorCode);
    if (errorCode != ErrorCode.NO_ERROR.code()) {
      log.log(Level.FINE, "{0}: client sent GOAWAY with error {1}",
          new Object[] {transport, errorCode});
    }
    transport.startGracefulShutdown(null);
  }

  @Override
  int lastPeerStreamId() {
    return lastStreamId;
  }

  @Override
  void onEndOfInput() {
    closeNow(Status.UNAVAILABLE.withDescription("client closed the connection"));
  }

  @Override
  void onOutboundHeadersFailed(int streamId, Status status) {
    LeanServerStream.State s = call(streamId);
    if (s != null) {
      cancelStream(s, status);
    }
  }

  @Override
  void onClosed(Status status) {
    transport.terminate();
  }

  // ------------------------------------------------------------------ call operations

  void sendHeaders(LeanServerStream.State s, Http2Headers headers, boolean flush) {
    assertInLoop();
    if (s.cancelled || closed) {
      return;
    }
    s.headersSent = true;
    writer.enqueueLeadingHeaders(s.outbound, headers);
    if (flush) {
      requestFlush();
    }
  }

  /**
   * The transport failed the stream (e.g. its request could not be deframed): the application
   * learns {@code status}; the client gets it as trailers if no headers went out yet, else as
   * RST_STREAM(CANCEL).
   */
  void failStream(LeanServerStream.State s, Status status) {
    if (s.cancelled || s.localClosed) {
      return;
    }
    if (s.headersSent || closed || streams.get(s.id) != s) {
      cancelStream(s, status);
      return;
    }
    s.cancelled = true;
    s.reportStatus(status);
    writer.cancel(s.outbound);
    Metadata trailers = new Metadata();
    trailers.put(io.grpc.InternalStatus.CODE_KEY, status);
    if (status.getDescription() != null) {
      trailers.put(io.grpc.InternalStatus.MESSAGE_KEY, status.getDescription());
    }
    // A fresh outbound state: the cancelled one refuses work, this one only carries trailers.
    s.failureOutbound = new OutboundStream(s.id, 0, s, writer);
    writer.enqueueTrailers(s.failureOutbound, GrpcHeaders.serverTrailers(trailers,
        false));
    requestFlush();
  }

  /** Trailers carry the RESOURCE_EXHAUSTED status to the client when no headers went out. */
  @Override
  void failForBudget(H2Stream stream, Status status) {
    if (stream instanceof LeanServerStream.State s) {
      failStream(s, status);
    } else {
      super.failForBudget(stream, status);
    }
  }

  /** Queues DATA (then owned by the stream); without {@code flush} (as sendHeaders) it waits. */
  void sendData(LeanServerStream.State s, ByteBuffer data, int numMessages, boolean flush) {
    assertInLoop();
    transport.tracer().reportMessageSent(numMessages);
    if (s.cancelled || closed) {
      s.outbound.releaseChunk(data);
      return;
    }
    writer.enqueueData(s.outbound, data, false);
    if (queuedBytesCapExceeded()) {
      // The client is not opening its windows fast enough for what the application writes.
      resetStream(s, ErrorCode.ENHANCE_YOUR_CALM, queuedBytesCapStatus("client"));
      return;
    }
    if (s.budgetHold != null) {
      s.budgetHold.holdIfUnderPressure();
    }
    if (flush) {
      requestFlush();
    }
  }

  void sendTrailers(LeanServerStream.State s, Http2Headers trailers) {
    assertInLoop();
    if (s.cancelled || closed) {
      return;
    }
    writer.enqueueTrailers(s.outbound, trailers);
    requestFlush();
  }

  /** Resets every gRPC call (shutdownNow, before the final GOAWAY). */
  void resetCalls(ErrorCode code) {
    for (H2Stream s : streams.values().toArray(new H2Stream[0])) {
      if (s instanceof LeanServerStream.State) {
        StreamRules.resetLocally(this, s, code);
      }
    }
  }

  /** The writer sent our END_STREAM (trailers): the call is complete on our side. */
  void onOutboundClosed(LeanServerStream.State s) {
    if (!s.remoteClosed) {
      // gRPC: once the server has answered, the client's remaining request is irrelevant.
      // RFC 9113 §8.1: RST_STREAM(NO_ERROR) tells it to stop sending.
      sendRst(s.id, ErrorCode.NO_ERROR);
    }
    if (s.cancelled) {
      // failStream's trailers: the application already has its status.
      removeStream(s);
      return;
    }
    completions.complete(s);
    removeStream(s);
    if (resetBudget != null) {
      resetBudget.onStreamCompleted(System.nanoTime()); // credit matters only after a reset
    }
  }

  void cancelStream(LeanServerStream.State s, Status status) {
    assertInLoop();
    resetStream(s, ErrorCode.CANCEL, status);
  }

  /** Drops what the stream queued, sends RST_STREAM({@code code}) and reports {@code status}. */
  private void resetStream(LeanServerStream.State s, ErrorCode code, Status status) {
    if (s.cancelled || s.localClosed) {
      return;
    }
    s.cancelled = true;
    StreamRules.resetLocally(this, s, code);
    s.reportStatus(status);
    removeStream(s);
  }

  void removeStream(LeanServerStream.State s) {
    if (!StreamRules.unregister(this, s)) {
      return;
    }
    s.removed();
    if (s.failureOutbound != null) {
      writer.cancel(s.failureOutbound);
    }
    onStreamGone();
  }

  // ------------------------------------------------------------------ stream rule hooks

  @Override
  void checkNotIdle(int streamId, String frameType) throws Http2ConnectionError {
    if (streamId > lastStreamId) {
      throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR,
          frameType + " on idle stream " + streamId + " (RFC 9113 §5.1)");
    }
  }

  @Override
  void onDataForClosedStream(int streamId) throws Http2StreamError {
    throw new Http2StreamError(streamId, ErrorCode.STREAM_CLOSED,
        "DATA on closed stream " + streamId);
  }

  @Override
  void onRemoteEnd(H2Stream s) {
    if (s instanceof HttpErrorStream && ((HttpErrorStream) s).localClosed) {
      removeErrorStream((HttpErrorStream) s);
    }
  }

  @Override
  void onPeerReset(H2Stream stream, long errorCode) throws Http2ConnectionError {
    if (stream instanceof HttpErrorStream) {
      removeErrorStream((HttpErrorStream) stream);
      return;
    }
    LeanServerStream.State s = (LeanServerStream.State) stream;
    s.cancelled = true;
    s.reportStatus(GrpcUtil.Http2Error.statusForCode(errorCode)
        .withDescription("RST_STREAM received with code " + errorCode));
    removeStream(s);
    resetBudget().onStreamReset(System.nanoTime());
  }

  @Override
  void onStreamFailed(H2Stream stream, Status status) {
    if (stream instanceof HttpErrorStream) {
      removeErrorStream((HttpErrorStream) stream);
      return;
    }
    LeanServerStream.State s = (LeanServerStream.State) stream;
    s.cancelled = true;
    s.reportStatus(status);
    removeStream(s);
  }

  private ResetBudget resetBudget() {
    if (resetBudget == null) {
      resetBudget = new ResetBudget(serverConfig.maxRstStreams, serverConfig.maxRstWindowNanos);
    }
    return resetBudget;
  }

  /** Our resets count against the Rapid Reset budget too ("MadeYouReset"). */
  @Override
  public void onStreamError(Http2StreamError error) throws Http2ConnectionError {
    super.onStreamError(error);
    resetBudget().onStreamReset(System.nanoTime());
  }

  @Override
  void onStreamLost(H2Stream stream, Status status) {
    if (stream instanceof LeanServerStream.State) {
      LeanServerStream.State s = (LeanServerStream.State) stream;
      if (s.failureOutbound != null) {
        s.failureOutbound.discard();
      }
      // As removeStream does: a response the framer still holds can never be sent now. Without
      // this, a unary handler that answered but never completes its cancelled call pins it.
      s.removed();
      s.reportStatus(status);
    }
  }

  @Override
  public String toString() {
    return transport.toString();
  }
}

