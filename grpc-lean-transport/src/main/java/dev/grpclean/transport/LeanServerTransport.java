package dev.grpclean.transport;

import com.google.common.base.MoreObjects;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;
import dev.grpclean.transport.frame.Settings;
import dev.grpclean.transport.io.EventLoop;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.InternalChannelz.SocketOptions;
import io.grpc.InternalChannelz.SocketStats;
import io.grpc.InternalLogId;
import io.grpc.Metadata;
import io.grpc.SecurityLevel;
import io.grpc.Status;
import io.grpc.internal.GrpcAttributes;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.KeepAliveEnforcer;
import io.grpc.internal.KeepAliveManager;
import io.grpc.internal.MaxConnectionIdleManager;
import io.grpc.internal.ServerTransport;
import io.grpc.internal.ServerTransportListener;
import io.grpc.internal.StatsTraceContext;
import io.grpc.internal.TransportTracer;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import io.netty.util.collection.IntObjectHashMap;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The server side of one accepted HTTP/2 connection.
 *
 * <p>Public methods may be called from any thread and hand their work to the connection's loop;
 * everything else is confined to that loop thread.
 */
final class LeanServerTransport implements ServerTransport {
  private static final Logger log = Logger.getLogger(LeanServerTransport.class.getName());
  /** Payload of the PING that times the double-GOAWAY graceful shutdown (RFC 9113 §6.8). */
  private static final long GRACEFUL_SHUTDOWN_PING = 0x97ACEF001L;
  /** Upper bound on waiting for that PING's ack before the second GOAWAY. */
  private static final long GRACEFUL_SHUTDOWN_PING_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);
  /** Payload of our keepalive PINGs. */
  private static final long KEEPALIVE_PING = 0xDEADL;

  final EventLoop loop;
  private final LeanServer server;
  private final ServerConfig serverConfig;
  private final InternalLogId logId;
  private final TransportTracer transportTracer;
  private final Connection connection;
  private volatile Attributes attributes;
  private volatile io.grpc.InternalChannelz.Security security;
  private ServerTransportListener listener;
  private int lastStreamId;
  /** Streams above this id are ignored: a GOAWAY said we will not process them. */
  private int goAwayStreamId = Integer.MAX_VALUE;
  private boolean gracefulShutdown;
  private boolean secondGoAwaySent;
  private Long gracefulShutdownPeriodNanos;
  private boolean terminated;
  private ScheduledFuture<?> secondGoAwayTimer;
  private ScheduledFuture<?> handshakeTimer;
  private ScheduledFuture<?> maxAgeTimer;
  private ScheduledFuture<?> forcefulCloseTimer;
  private final KeepAliveEnforcer keepAliveEnforcer;
  private KeepAliveManager keepAliveManager;
  private MaxConnectionIdleManager maxIdleManager;

  LeanServerTransport(LeanServer server, EventLoop loop, SocketChannel channel) {
    this.server = server;
    this.serverConfig = server.config;
    this.loop = loop;
    SocketAddress remote = null;
    SocketAddress local = null;
    try {
      remote = channel.getRemoteAddress();
      local = channel.getLocalAddress();
    } catch (IOException ignored) {
      // reported as absent
    }
    this.logId = InternalLogId.allocate(getClass(), String.valueOf(remote));
    this.transportTracer = serverConfig.transportTracerFactory.create();
    this.attributes = Attributes.newBuilder()
        .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, remote)
        .set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, local)
        .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.NONE)
        .build();
    this.keepAliveEnforcer = new KeepAliveEnforcer(serverConfig.permitKeepAliveWithoutCalls,
        serverConfig.permitKeepAliveTimeNanos, TimeUnit.NANOSECONDS);
    this.connection = new Connection(channel);
    transportTracer.setFlowControlWindowReader(connection::flowControlWindows);
  }

  Attributes attributes() {
    return attributes;
  }

  /** Loop thread: registers the socket and starts the HTTP/2 exchange. */
  void start(ServerTransportListener listener) {
    this.listener = listener;
    try {
      connection.key = loop.register(connection.channel, SelectionKey.OP_READ, connection);
    } catch (IOException e) {
      connection.closeNow(Status.UNAVAILABLE.withDescription("register failed").withCause(e));
      return;
    }
    ScheduledExecutorService scheduler = serverConfig.scheduler;
    if (serverConfig.handshakeTimeoutNanos != Long.MAX_VALUE) {
      handshakeTimer = scheduler.schedule(() -> runOnLoop(this::onHandshakeTimeout),
          serverConfig.handshakeTimeoutNanos, TimeUnit.NANOSECONDS);
    }
    connection.startSecurity(serverConfig.handshakerFactory, null);
    if (serverConfig.keepAliveTimeNanos != GrpcUtil.SERVER_KEEPALIVE_TIME_NANOS_DISABLED) {
      keepAliveManager = new KeepAliveManager(new KeepAliveManager.KeepAlivePinger() {
        @Override
        public void ping() {
          runOnLoop(() -> {
            if (!connection.closed) {
              connection.writer.enqueue(new ControlFrame.Ping(false, KEEPALIVE_PING));
              transportTracer.reportKeepAliveSent();
              connection.requestFlush();
            }
          });
        }

        @Override
        public void onPingTimeout() {
          shutdownNow(Status.UNAVAILABLE.withDescription("Keepalive failed. Considering"
              + " connection dead"));
        }
      }, scheduler, serverConfig.keepAliveTimeNanos, serverConfig.keepAliveTimeoutNanos, true);
      keepAliveManager.onTransportStarted();
    }
    if (serverConfig.maxConnectionIdleNanos != LeanServerBuilder.MAX_CONNECTION_IDLE_NANOS_DISABLED) {
      maxIdleManager = new MaxConnectionIdleManager(serverConfig.maxConnectionIdleNanos);
      maxIdleManager.start(() -> runOnLoop(() -> startGracefulShutdown(null)), scheduler);
    }
    if (serverConfig.maxConnectionAgeNanos != LeanServerBuilder.MAX_CONNECTION_AGE_NANOS_DISABLED) {
      // ±10% jitter so connections accepted together do not all reconnect together.
      long jitter = (long) ((Math.random() * 0.2 - 0.1) * serverConfig.maxConnectionAgeNanos);
      maxAgeTimer = scheduler.schedule(
          () -> runOnLoop(() -> startGracefulShutdown(serverConfig.maxConnectionAgeGraceNanos)),
          serverConfig.maxConnectionAgeNanos + jitter, TimeUnit.NANOSECONDS);
    }
  }

  private void onHandshakeTimeout() {
    if (!connection.peerSettingsReceived && !connection.closed) {
      log.log(Level.FINE, "{0}: no HTTP/2 preface and SETTINGS within the handshake timeout",
          this);
      connection.sendGoAwayAndClose(ErrorCode.PROTOCOL_ERROR, "handshake timeout",
          Status.UNAVAILABLE.withDescription("handshake timed out"));
    }
  }

  private void runOnLoop(Runnable r) {
    try {
      loop.execute(r);
    } catch (RejectedExecutionException ignored) {
      // The loop is gone and closed this connection on its way out.
    }
  }

  // ------------------------------------------------------------------ stream ops (loop thread)

  void sendHeaders(LeanServerStream.State s, Http2Headers headers) {
    if (s.cancelled || connection.closed) {
      return;
    }
    s.headersSent = true;
    connection.writer.enqueueHeaders(s.id, headers, false);
    connection.requestFlush();
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
    if (s.headersSent || connection.closed || connection.streams.get(s.id) != s) {
      cancelStream(s, status);
      return;
    }
    s.cancelled = true;
    s.transportReportStatus(status);
    connection.writer.cancel(s.outbound);
    Metadata trailers = new Metadata();
    trailers.put(io.grpc.InternalStatus.CODE_KEY, status);
    if (status.getDescription() != null) {
      trailers.put(io.grpc.InternalStatus.MESSAGE_KEY, status.getDescription());
    }
    // A fresh outbound state: the cancelled one refuses work, this one only carries trailers.
    s.failureOutbound = new OutboundStream(s.id, 0, s, connection.writer);
    connection.writer.enqueueTrailers(s.failureOutbound, GrpcHeaders.serverTrailers(trailers,
        false));
    connection.requestFlush();
  }

  void sendData(LeanServerStream.State s, ByteBuffer data, int numMessages) {
    transportTracer.reportMessageSent(numMessages);
    if (s.cancelled || connection.closed) {
      LeanBuffers.releaseHeap(data);
      return;
    }
    connection.writer.enqueueData(s.outbound, data, false);
    if (connection.writer.queuedDataBytes > serverConfig.settings.maxQueuedBytesPerConnection) {
      // The client is not opening its windows fast enough for what the application writes.
      resetStream(s, ErrorCode.ENHANCE_YOUR_CALM, Status.RESOURCE_EXHAUSTED.withDescription(
          "more than " + serverConfig.settings.maxQueuedBytesPerConnection + " bytes queued "
              + "behind the client's flow-control windows (maxQueuedBytesPerConnection)"));
      return;
    }
    connection.requestFlush();
  }

  void sendTrailers(LeanServerStream.State s, Http2Headers trailers) {
    if (s.cancelled || connection.closed) {
      return;
    }
    connection.writer.enqueueTrailers(s.outbound, trailers);
    connection.requestFlush();
  }

  /** The writer sent our END_STREAM (trailers): the call is complete on our side. */
  void onOutboundClosed(LeanServerStream.State s) {
    if (!s.remoteClosed) {
      // gRPC: once the server has answered, the client's remaining request is irrelevant.
      // RFC 9113 §8.1: RST_STREAM(NO_ERROR) tells it to stop sending.
      connection.writer.enqueue(new ControlFrame.RstStream(s.id, ErrorCode.NO_ERROR));
      connection.requestFlush();
    }
    if (s.cancelled) {
      // failStream's trailers: the application already has its status.
      removeStream(s, false);
      return;
    }
    s.complete();
    removeStream(s, true);
    connection.resetBudget.onStreamCompleted(System.nanoTime());
  }

  void cancelStream(LeanServerStream.State s, Status status) {
    resetStream(s, ErrorCode.CANCEL, status);
  }

  /** Drops what the stream queued, sends RST_STREAM({@code code}) and reports {@code status}. */
  private void resetStream(LeanServerStream.State s, ErrorCode code, Status status) {
    if (s.cancelled || s.localClosed) {
      return;
    }
    s.cancelled = true;
    if (connection.streams.get(s.id) == s && !connection.closed) {
      connection.writer.cancel(s.outbound);
      connection.writer.enqueue(new ControlFrame.RstStream(s.id, code));
      connection.requestFlush();
    }
    s.transportReportStatus(status);
    removeStream(s, false);
  }

  void onBytesConsumed(LeanServerStream.State s, int bytes) {
    if (connection.closed || connection.streams.get(s.id) != s) {
      // A removed stream's unconsumed bytes went back to the connection window at removal.
      return;
    }
    int before = s.inbound.unconsumedBytes();
    int update = s.inbound.consume(bytes);
    connection.returnConnectionBytes(before - s.inbound.unconsumedBytes());
    if (update > 0 && !s.remoteClosed) {
      connection.writer.enqueue(new ControlFrame.WindowUpdate(s.id, update));
      connection.requestFlush();
    }
  }

  private void removeStream(LeanServerStream.State s, boolean success) {
    if (connection.streams.remove(s.id) == null) {
      return;
    }
    transportTracer.reportStreamClosed(success);
    s.removed();
    connection.returnConnectionBytes(s.inbound.takeUnconsumed());
    connection.writer.cancel(s.outbound);
    if (s.failureOutbound != null) {
      connection.writer.cancel(s.failureOutbound);
    }
    connection.onStreamGone();
  }

  // ------------------------------------------------------------------ lifecycle

  @Override
  public void shutdown() {
    runOnLoop(() -> startGracefulShutdown(null));
  }

  /** Double GOAWAY (RFC 9113 §6.8): announce, wait one round trip, then fix the last stream. */
  private void startGracefulShutdown(Long gracePeriodNanos) {
    if (gracefulShutdown || connection.closed) {
      return;
    }
    gracefulShutdown = true;
    gracefulShutdownPeriodNanos = gracePeriodNanos;
    if (!connection.peerSettingsReceived) {
      connection.closeNow(Status.UNAVAILABLE.withDescription("server shut down"));
      return;
    }
    connection.writer.enqueue(new ControlFrame.GoAway(Integer.MAX_VALUE, ErrorCode.NO_ERROR,
        new byte[0]));
    connection.writer.enqueue(new ControlFrame.Ping(false, GRACEFUL_SHUTDOWN_PING));
    connection.requestFlush();
    secondGoAwayTimer = serverConfig.scheduler.schedule(() -> runOnLoop(this::sendSecondGoAway),
        GRACEFUL_SHUTDOWN_PING_TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
  }

  private void sendSecondGoAway() {
    if (secondGoAwaySent || connection.closed) {
      return;
    }
    secondGoAwaySent = true;
    if (secondGoAwayTimer != null) {
      secondGoAwayTimer.cancel(false);
      secondGoAwayTimer = null;
    }
    goAwayStreamId = lastStreamId;
    if (connection.openStreams() == 0) {
      connection.sendGoAwayAndClose(ErrorCode.NO_ERROR, null,
          Status.UNAVAILABLE.withDescription("server shut down"));
      return;
    }
    connection.writer.enqueue(new ControlFrame.GoAway(lastStreamId, ErrorCode.NO_ERROR,
        new byte[0]));
    connection.requestFlush();
    if (gracefulShutdownPeriodNanos != null) {
      forcefulCloseTimer = serverConfig.scheduler.schedule(
          () -> runOnLoop(() -> shutdownNowOnLoop(Status.UNAVAILABLE.withDescription(
              "connection age grace period expired"))),
          gracefulShutdownPeriodNanos, TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public void shutdownNow(Status reason) {
    runOnLoop(() -> shutdownNowOnLoop(reason));
  }

  private void shutdownNowOnLoop(Status reason) {
    if (connection.closed) {
      return;
    }
    for (LeanServerStream.State s : new ArrayList<>(connection.streams.values())) {
      connection.writer.cancel(s.outbound);
      connection.writer.enqueue(new ControlFrame.RstStream(s.id, ErrorCode.CANCEL));
    }
    connection.sendGoAwayAndClose(ErrorCode.NO_ERROR, null, reason);
  }

  @Override
  public ScheduledExecutorService getScheduledExecutorService() {
    return serverConfig.scheduler;
  }

  @Override
  public InternalLogId getLogId() {
    return logId;
  }

  @Override
  public ListenableFuture<SocketStats> getStats() {
    SettableFuture<SocketStats> future = SettableFuture.create();
    Runnable fill = () -> future.set(new SocketStats(transportTracer.getStats(),
        attributes.get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR),
        attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
        new SocketOptions.Builder().build(), security));
    try {
      loop.execute(fill);
    } catch (RejectedExecutionException e) {
      fill.run();
    }
    return future;
  }

  @Override
  public String toString() {
    return MoreObjects.toStringHelper(this).add("logId", logId.getId())
        .add("remote", attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)).toString();
  }

  /** The HTTP/2 connection. Confined to the loop thread. */
  final class Connection extends Http2Connection implements HttpErrorStream.Owner {
    final IntObjectHashMap<LeanServerStream.State> streams = new IntObjectHashMap<>(4);
    final ResetBudget resetBudget =
        new ResetBudget(serverConfig.maxRstStreams, serverConfig.maxRstWindowNanos);
    /** Non-gRPC requests being answered with a plain HTTP error; created on first use. */
    private IntObjectHashMap<HttpErrorStream> errorStreams;

    private HttpErrorStream errorStream(int id) {
      return errorStreams == null ? null : errorStreams.get(id);
    }

    int openStreams() {
      return streams.size() + (errorStreams == null ? 0 : errorStreams.size());
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
      keepAliveEnforcer.onTransportActive();
      if (maxIdleManager != null) {
        maxIdleManager.onTransportActive();
      }
    }

    /** A stream went away; when it was the last, the connection is idle (or may close). */
    void onStreamGone() {
      if (openStreams() != 0) {
        return;
      }
      keepAliveEnforcer.onTransportIdle();
      if (maxIdleManager != null) {
        maxIdleManager.onTransportIdle();
      }
      if (gracefulShutdown && secondGoAwaySent) {
        sendGoAwayAndClose(ErrorCode.NO_ERROR, null,
            Status.UNAVAILABLE.withDescription("server shut down"));
      }
    }

    private void removeErrorStream(HttpErrorStream e) {
      if (errorStreams != null && errorStreams.remove(e.id) != null) {
        writer.cancel(e.outbound);
        onStreamGone();
      }
    }

    Connection(SocketChannel channel) {
      super(LeanServerTransport.this.loop, channel, serverConfig.settings, true);
    }

    @Override
    void onSecureChannelReady(Attributes securityAttrs,
        io.grpc.InternalChannelz.Security security) {
      attributes = attributes.toBuilder().setAll(securityAttrs).build();
      LeanServerTransport.this.security = security;
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

    @Override
    void onBytesRead() {
      if (keepAliveManager != null) {
        keepAliveManager.onDataReceived();
      }
    }

    @Override
    void onPeerSettingsApplied(boolean first) {
      if (first) {
        if (handshakeTimer != null) {
          handshakeTimer.cancel(false);
          handshakeTimer = null;
        }
        attributes = listener.transportReady(attributes);
      }
    }

    @Override
    void applyInitialWindowDelta(int delta) throws Http2ConnectionError {
      for (LeanServerStream.State s : streams.values()) {
        if ((long) s.outbound.windowBytes + delta > FrameType.MAX_WINDOW) {
          throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR,
              "SETTINGS_INITIAL_WINDOW_SIZE overflows stream " + s.id);
        }
        writer.updateStreamWindow(s.outbound, delta);
      }
      if (errorStreams != null) {
        for (HttpErrorStream e : errorStreams.values()) {
          writer.updateStreamWindow(e.outbound, delta);
        }
      }
      requestFlush();
    }

    @Override
    public void onHeaders(int streamId, ByteBuffer headerBlock, boolean endStream)
        throws Http2ConnectionError, Http2StreamError {
      if ((streamId & 1) == 0) {
        throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR,
            "clients cannot open even-numbered streams (RFC 9113 §5.1.1)");
      }
      LeanServerStream.State existing = streams.get(streamId);
      HttpErrorStream existingError = errorStream(streamId);
      boolean isNew = existing == null && existingError == null && streamId > lastStreamId;
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
                  + serverConfig.settings.maxInboundMetadataBytes + ")");
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
      if (streamId > goAwayStreamId) {
        return;
      }
      if (openStreams() >= serverConfig.maxConcurrentStreams) {
        throw new Http2StreamError(streamId, ErrorCode.REFUSED_STREAM,
            "max concurrent streams (" + serverConfig.maxConcurrentStreams + ") reached");
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
      LeanServerStream stream = new LeanServerStream(LeanServerTransport.this, streamId,
          authority == null ? null : authority.toString(), statsTraceCtx, transportTracer,
          serverConfig.settings.maxInboundMessageBytes, serverConfig.settings.flowControlWindowBytes,
          peerInitialWindowBytes, writer);
      LeanServerStream.State s = stream.transportState();
      s.contentLength = contentLength;
      if (openStreams() == 0) {
        onStreamActive();
      }
      streams.put(streamId, s);
      transportTracer.reportRemoteStreamStarted();
      try {
        listener.streamCreated(stream, fullMethod, metadata);
      } catch (RuntimeException e) {
        // grpc-core could not take the call, typically because the server's executor rejected
        // it (shut down, or saturated with no queue). As grpc-netty does, fail this stream only
        // (the client sees INTERNAL); thrown on, it would be taken for a bug and close the
        // connection with every other call on it.
        log.log(Level.WARNING, "cannot start " + fullMethod + " on " + this, e);
        if (!s.hasListener()) {
          // grpc-core threw before it listened to the stream (it parses grpc-timeout first, and
          // a malformed one throws): nobody can be told, so the stream just goes.
          removeStream(s, false);
        }
        throw new Http2StreamError(streamId, ErrorCode.INTERNAL_ERROR,
            "call could not be started: " + e, e);
      }
      s.started();
      if (endStream) {
        s.remoteClosed = true;
        s.inboundDataReceived(io.grpc.internal.ReadableBuffers.empty(), true);
      }
    }

    /**
     * Answers a request that is not gRPC with a plain HTTP status and a text body (gRPC HTTP/2
     * protocol), on a tracked stream that lives until the body has left.
     */
    private void respondWithHttpError(int streamId, boolean endStream, int httpCode,
        Status.Code code, String message) {
      respondWithHttpError(streamId, endStream, httpCode, code, message, null);
    }

    private void respondWithHttpError(int streamId, boolean endStream, int httpCode,
        Status.Code code, String message, Http2Headers request) {
      ContentLength length;
      try {
        length = request == null ? ContentLength.of(streamId, EMPTY_HEADERS)
            : ContentLength.of(streamId, request);
        if (endStream) {
          length.onData(streamId, 0, true);
        }
      } catch (Http2StreamError e) {
        writer.enqueue(new ControlFrame.RstStream(streamId, e.code()));
        requestFlush();
        return;
      }
      HttpErrorStream e = new HttpErrorStream(streamId, peerInitialWindowBytes,
          serverConfig.settings.flowControlWindowBytes, length, request, this, writer);
      e.remoteClosed = endStream;
      if (errorStreams == null) {
        errorStreams = new IntObjectHashMap<>(2);
      }
      if (openStreams() == 0) {
        onStreamActive();
      }
      errorStreams.put(streamId, e);
      writer.enqueueHeaders(streamId, GrpcHeaders.httpError(httpCode, code, message), false);
      byte[] body = message.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      ByteBuffer chunk = LeanBuffers.leaseHeap(Math.max(1, body.length));
      chunk.put(body).flip();
      writer.enqueueData(e.outbound, chunk, true);
      requestFlush();
    }

    @Override
    public void onData(int streamId, ByteBuffer data, int flowControlledBytes, boolean endStream)
        throws Http2ConnectionError, Http2StreamError {
      onDataFrame(data.remaining(), flowControlledBytes, endStream);
      LeanServerStream.State s = streams.get(streamId);
      HttpErrorStream errorStream = s == null ? errorStream(streamId) : null;
      if (errorStream != null) {
        returnConnectionBytes(flowControlledBytes);
        if (errorStream.remoteClosed) {
          throw new Http2StreamError(streamId, ErrorCode.STREAM_CLOSED, "DATA after END_STREAM");
        }
        errorStream.onData(data.remaining(), flowControlledBytes, endStream);
        if (errorStream.remoteClosed && errorStream.localClosed) {
          removeErrorStream(errorStream);
        }
        return;
      }
      if (s == null) {
        returnConnectionBytes(flowControlledBytes);
        if (streamId > lastStreamId) {
          throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR,
              "DATA on idle stream " + streamId + " (RFC 9113 §5.1)");
        }
        throw new Http2StreamError(streamId, ErrorCode.STREAM_CLOSED,
            "DATA on closed stream " + streamId);
      }
      if (s.remoteClosed) {
        returnConnectionBytes(flowControlledBytes);
        throw new Http2StreamError(streamId, ErrorCode.STREAM_CLOSED,
            "DATA after END_STREAM (RFC 9113 §5.1)");
      }
      try {
        s.inbound.charge(streamId, flowControlledBytes);
      } catch (Http2StreamError e) {
        returnConnectionBytes(flowControlledBytes);
        throw e;
      }
      int padding = flowControlledBytes - data.remaining();
      if (padding > 0) {
        s.inbound.consume(padding);
        returnConnectionBytes(padding);
      }
      s.contentLength.onData(streamId, data.remaining(), endStream);
      if (endStream) {
        s.remoteClosed = true;
      }
      s.dataReceived(data, endStream);
    }

    @Override
    public void onRstStream(int streamId, long errorCode) throws Http2ConnectionError {
      LeanServerStream.State s = streams.get(streamId);
      if (s == null) {
        if (streamId > lastStreamId) {
          throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR,
              "RST_STREAM on idle stream " + streamId + " (RFC 9113 §6.4)");
        }
        HttpErrorStream e = errorStream(streamId);
        if (e != null) {
          removeErrorStream(e);
        }
        return;
      }
      s.cancelled = true;
      connection.writer.cancel(s.outbound);
      s.transportReportStatus(GrpcUtil.Http2Error.statusForCode(errorCode)
          .withDescription("RST_STREAM received with code " + errorCode));
      removeStream(s, false);
      resetBudget.onStreamReset(System.nanoTime());
    }

    @Override
    public void onStreamError(Http2StreamError error) throws Http2ConnectionError {
      HttpErrorStream e = errorStream(error.streamId());
      if (e != null) {
        removeErrorStream(e);
      }
      LeanServerStream.State s = streams.get(error.streamId());
      if (s != null) {
        s.cancelled = true;
        writer.cancel(s.outbound);
        s.transportReportStatus(Status.INTERNAL.withDescription(
            "HTTP/2 stream error " + error.code() + ": " + error.getMessage()));
        removeStream(s, false);
      }
      writer.enqueue(new ControlFrame.RstStream(error.streamId(), error.code()));
      requestFlush();
      resetBudget.onStreamReset(System.nanoTime());
    }

    @Override
    void onStreamWindowUpdate(int streamId, int increment)
        throws Http2ConnectionError, Http2StreamError {
      LeanServerStream.State s = streams.get(streamId);
      OutboundStream out = s != null ? s.outbound : null;
      if (out == null) {
        HttpErrorStream e = errorStream(streamId);
        out = e != null ? e.outbound : null;
      }
      if (out == null) {
        if (streamId > lastStreamId) {
          throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR,
              "WINDOW_UPDATE on idle stream " + streamId);
        }
        return;
      }
      if ((long) out.windowBytes + increment > FrameType.MAX_WINDOW) {
        throw new Http2StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR,
            "stream window overflow (RFC 9113 §6.9.1)");
      }
      writer.updateStreamWindow(out, increment);
      requestFlush();
    }

    @Override
    public void onStreamFrameWritten() {
      keepAliveEnforcer.resetCounters();
    }

    @Override
    void onPingRequest(long payload) throws Http2ConnectionError {
      if (!keepAliveEnforcer.pingAcceptable()) {
        throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too_many_pings");
      }
    }

    @Override
    void onPingAck(long payload) {
      if (payload == GRACEFUL_SHUTDOWN_PING) {
        sendSecondGoAway();
      }
    }

    @Override
    public void onGoAway(int lastStreamId, long errorCode, ByteBuffer debugData) {
      if (errorCode != ErrorCode.NO_ERROR.code()) {
        log.log(Level.FINE, "{0}: client sent GOAWAY with error {1}",
            new Object[] {LeanServerTransport.this, errorCode});
      }
      startGracefulShutdown(null);
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
      LeanServerStream.State s = streams.get(streamId);
      if (s != null) {
        cancelStream(s, status);
      }
    }

    @Override
    void onClosed(Status status) {
      for (LeanServerStream.State s : new ArrayList<>(streams.values())) {
        s.outbound.discard();
        if (s.failureOutbound != null) {
          s.failureOutbound.discard();
        }
        // As removeStream does: a response the framer still holds can never be sent now. Without
        // this, a unary handler that answered but never completes its cancelled call pins it.
        s.removed();
        s.transportReportStatus(status);
      }
      streams.clear();
      if (errorStreams != null) {
        for (HttpErrorStream e : errorStreams.values()) {
          e.outbound.discard();
        }
        errorStreams.clear();
      }
      terminate();
    }

    @Override
    public String toString() {
      return LeanServerTransport.this.toString();
    }
  }

  private void terminate() {
    if (terminated) {
      return;
    }
    terminated = true;
    cancel(handshakeTimer);
    cancel(secondGoAwayTimer);
    cancel(maxAgeTimer);
    cancel(forcefulCloseTimer);
    if (keepAliveManager != null) {
      keepAliveManager.onTransportTermination();
    }
    if (maxIdleManager != null) {
      maxIdleManager.onTransportTermination();
    }
    server.transportClosed(this);
    if (listener != null) {
      listener.transportTerminated();
    }
  }

  private static void cancel(ScheduledFuture<?> f) {
    if (f != null) {
      f.cancel(false);
    }
  }

  private static final Http2Headers EMPTY_HEADERS =
      new io.netty.handler.codec.http2.DefaultHttp2Headers(false, 0);

}
