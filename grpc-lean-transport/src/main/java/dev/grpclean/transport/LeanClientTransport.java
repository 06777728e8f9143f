package dev.grpclean.transport;

import com.google.common.base.MoreObjects;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.io.EventLoop;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.Grpc;
import io.grpc.InternalLogId;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.Status;
import io.grpc.internal.ClientStream;
import io.grpc.internal.ClientStreamListener.RpcProgress;
import io.grpc.internal.ConnectionClientTransport;
import io.grpc.internal.DisconnectError;
import io.grpc.internal.FailingClientStream;
import io.grpc.internal.GrpcAttributes;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.Http2Ping;
import io.grpc.internal.KeepAliveManager;
import io.grpc.internal.TransportTracer;
import io.grpc.internal.KeepAliveManager.ClientKeepAlivePinger;
import io.grpc.internal.SimpleDisconnectError;
import io.grpc.internal.StatsTraceContext;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;

/**
 * The client side of one HTTP/2 connection, as grpc-core sees it: connect, keepalive, pings,
 * shutdown, stats, and the calls' life before and around their stream ids (pending streams,
 * in-use accounting). The HTTP/2 work is {@link ClientConnection}'s.
 *
 * <p>Public methods may be called from any thread; each hands its work to the connection's loop.
 * All fields not marked otherwise are confined to that loop thread.
 */
final class LeanClientTransport extends LeanTransportBase implements ConnectionClientTransport,
    ClientKeepAlivePinger.TransportWithDisconnectReason, StreamBridge.LoopFailures {
  private static final Logger log = Logger.getLogger(LeanClientTransport.class.getName());
  /**
   * Connect plus handshake (security and the server's first SETTINGS) must finish within this.
   * Kernel SYN retries can take minutes; fail faster, in the spirit of Netty's 30 s default.
   */

  final String authority;
  final String userAgent;
  final AsciiString scheme;
  final SocketAddress address;
  final LeanTransportFactory factory;
  private final Attributes eagAttributes;
  Listener listener;
  private ClientConnection connection;
  int nextStreamId = 1;
  /** Streams waiting for the connection or for a stream slot. */
  final PendingStreams pendingStreams = new PendingStreams();
  int inUseStreams;
  Status shutdownStatus;
  boolean goAwayReceived;
  private boolean terminated;
  Http2Ping ping;
  ScheduledFuture<?> connectTimeout;
  /** Backs keepalive off after GOAWAY too_many_pings; null while keepalive is off. */
  @javax.annotation.Nullable final Runnable tooManyPingsRunnable;
  /** Per transport: grows when a server answers GOAWAY too_many_pings. */
  final long keepAliveTimeNanos;
  /** grpc-core's figures of this transport (channelz); streams report into it from any thread. */
  final TransportTracer transportTracer;
  /** Null while keepalive is off or until the handshake finished. */
  @javax.annotation.Nullable KeepAliveManager keepAliveManager;

  LeanClientTransport(LeanTransportFactory factory, EventLoop loop, SocketAddress address,
      String authority, String userAgent, Attributes eagAttributes,
      long keepAliveTimeNanos, @javax.annotation.Nullable Runnable tooManyPingsRunnable) {
    super(loop, InternalLogId.allocate(LeanClientTransport.class, address.toString()),
        Attributes.newBuilder()
            .set(GrpcAttributes.ATTR_CLIENT_EAG_ATTRS, eagAttributes)
            .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, address)
            .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.NONE)
            .build());
    this.keepAliveTimeNanos = keepAliveTimeNanos;
    this.transportTracer = factory.transportTracerFactory.create();
    this.factory = factory;
    this.address = address;
    this.authority = authority;
    this.userAgent = userAgent;
    this.eagAttributes = eagAttributes;
    this.tooManyPingsRunnable = tooManyPingsRunnable;
    this.scheme = factory.handshakerFactory == null ? GrpcHeaders.HTTP : GrpcHeaders.HTTPS;
  }

  @Override
  io.grpc.InternalChannelz.TransportStats transportStats() {
    return transportTracer.getStats();
  }

  @Override
  void onBytesRead() {
    if (keepAliveManager != null) {
      keepAliveManager.onDataReceived();
    }
  }

  @Override
  public Runnable start(Listener listener) {
    this.listener = listener;
    try {
      loop.execute(this::connect);
    } catch (RejectedExecutionException e) {
      return () -> {
        listener.transportShutdown(Status.UNAVAILABLE.withDescription("event loop stopped"),
            SimpleDisconnectError.UNKNOWN);
        listener.transportTerminated();
      };
    }
    return null;
  }

  private void connect() {
    SocketChannel ch = null;
    try {
      if (address instanceof UnixDomainSocketAddress) {
        ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      } else {
        ch = SocketChannel.open();
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      }
      ch.configureBlocking(false);
      connection = new ClientConnection(this, ch);
      transportTracer.setFlowControlWindowReader(connection.connectionFlow);
      if (shutdownStatus != null) {
        connection.closeNow(shutdownStatus);
        return;
      }
      boolean connected = ch.connect(address);
      connection.register(connected ? SelectionKey.OP_READ : SelectionKey.OP_CONNECT);
      connectTimeout = factory.scheduler.schedule(
          () -> runOnLoop(this::onConnectTimeout), factory.connectTimeoutNanos,
          TimeUnit.NANOSECONDS);
      if (connected) {
        connection.onConnected();
      }
    } catch (Throwable e) {
      // An Error too (e.g. a LinkageError from a mismatched library): the transport must end,
      // or its streams would wait for their deadlines.
      if (!(e instanceof IOException)) {
        log.log(Level.SEVERE, "transport failure connecting to " + address, e);
      }
      Status status = (e instanceof IOException ? Status.UNAVAILABLE : Status.INTERNAL)
          .withDescription("connect to " + address + " failed: " + e).withCause(e);
      if (connection != null) {
        connection.closeNow(status);
      } else {
        closeQuietly(ch);
        terminate(status, SimpleDisconnectError.SOCKET_ERROR);
      }
    }
  }

  private void onConnectTimeout() {
    if (connection != null && !connection.settings.peerSettingsReceived && !connection.closed) {
      connection.closeNow(Status.UNAVAILABLE.withDescription((connection.connected
          ? "HTTP/2 or security handshake with " : "connect to ") + address + " timed out"));
    }
  }

  @Override
  public ClientStream newStream(MethodDescriptor<?, ?> method, Metadata headers,
      CallOptions callOptions, ClientStreamTracer[] tracers) {
    Status authorityFailure = CallAuthorityCheck.check(getAttributes(), callOptions.getAuthority());
    if (authorityFailure != null) {
      return new FailingClientStream(authorityFailure, RpcProgress.PROCESSED, tracers);
    }
    StatsTraceContext statsTraceCtx =
        StatsTraceContext.newClientContext(tracers, getAttributes(), headers);
    return new LeanClientStream(this, method, headers, callOptions, statsTraceCtx,
        transportTracer, factory.settings.maxInboundMessageBytes);
  }

  // ------------------------------------------------------------------ loop-side stream ops

  /**
   * Loop thread: a stream task threw (see {@link Http2Connection#onLoopFailure}); the connection
   * fails as a whole, its streams with it.
   */
  @Override
  public void onLoopFailure(Throwable t) {
    if (connection != null) {
      connection.onLoopFailure(t);
    } else {
      log.log(Level.SEVERE, "transport failure before connecting to " + address, t);
      terminate(Status.INTERNAL.withDescription("transport failure: " + t).withCause(t),
          SimpleDisconnectError.UNKNOWN);
    }
  }

  /**
   * Opens {@code state}'s stream with {@code headers}, now or when the connection allows (see
   * {@link LeanClientStream.State#flushesHeadersAlone} for when they flush).
   */
  void startStream(LeanClientStream.State state, Http2Headers headers) {
    assert loop.inEventLoop() : "not on the transport's loop thread";
    if (state.cancelled) {
      return;
    }
    state.started = true;
    state.pendingHeaders = headers;
    if (shutdownStatus != null || goAwayReceived || connection == null || connection.closed) {
      Status status = shutdownStatus != null ? shutdownStatus
          : Status.UNAVAILABLE.withDescription("transport is shutting down");
      state.report(status, RpcProgress.MISCARRIED, true, new Metadata());
      return;
    }
    if (state.countsForInUse()) {
      inUseChanged(+1);
    }
    if (!connection.connected || !connection.settings.peerSettingsReceived
        || connection.activeStreams() >= connection.settings.peerMaxConcurrentStreams) {
      pendingStreams.add(state);
      return;
    }
    allocate(state);
  }

  private void allocate(LeanClientStream.State state) {
    if (nextStreamId < 0) {
      // RFC 9113 §5.1.1: ids are 31-bit. Past 2^31-1 the next id wrapped negative: this stream
      // goes to a new connection; this one drains.
      pendingStreams.addFirst(state);
      startGracefulShutdown(Status.UNAVAILABLE.withDescription("stream ids exhausted"));
      return;
    }
    int id = nextStreamId;
    nextStreamId += 2;
    Http2Headers headers = state.pendingHeaders;
    state.pendingHeaders = null;
    state.allocated(id, connection.settings.peerInitialWindowBytes,
        connection.localInitialWindowBytes(), connection.writer);
    state.inboundAccount = connection.newStreamAccount();
    connection.streams.put(id, state);
    transportTracer.reportLocalStreamStarted();
    connection.writer.enqueueHeaders(id, headers, false);
    state.getStatsTraceContext().clientOutboundHeaders();
    OutboundStream out = state.outbound;
    boolean dataQueued = out.queuedBytes > 0 || out.endStreamAfterData;
    if (dataQueued) {
      connection.writer.enqueueData(out, null, false);
    }
    if (dataQueued || state.flushesHeadersAlone()) {
      connection.requestFlush();
    }
  }

  void startPendingStreams() {
    while (pendingStreams.size() > 0
        && connection.activeStreams() < connection.settings.peerMaxConcurrentStreams) {
      allocate(pendingStreams.poll());
      if (shutdownStatus != null) {
        return;
      }
    }
  }

  /** Loop thread: queues the connection's memory-budget waker (none before it is connected). */
  void awaitBudget() {
    if (connection != null && !connection.closed) {
      connection.awaitBudget();
    }
  }

  /** Queues DATA (then owned by the stream); without {@code flush} it waits for the next one. */
  void sendData(LeanClientStream.State state, ByteBuffer data, boolean endOfStream,
      int numMessages, boolean flush) {
    assert loop.inEventLoop() : "not on the transport's loop thread";
    transportTracer.reportMessageSent(numMessages);
    if (state.cancelled || state.localClosed || state.done || connection == null
        || connection.closed) {
      if (data != null) {
        OutboundStream.releaseChunk(data, factory.settings.memoryBudget);
      }
      return;
    }
    if (state.id < 0) {
      OutboundStream early = state.earlyOutbound(connection.writer);
      if (data != null) {
        if (data.hasRemaining()) {
          early.enqueue(data);
        } else {
          early.releaseChunk(data);
        }
      }
      early.endStreamAfterData |= endOfStream;
    } else {
      connection.writer.enqueueData(state.outbound, data, endOfStream);
    }
    if (connection.queuedBytesCapExceeded()) {
      // The server is not opening its windows (or streams) fast enough for what the application
      // writes: fail this call rather than buffer without bound.
      cancelStream(state, connection.queuedBytesCapStatus("server"));
      return;
    }
    if (state.id >= 0) {
      if (state.budgetHold != null) {
        state.budgetHold.holdIfUnderPressure();
      }
      if (flush) {
        connection.requestFlush();
      }
    }
  }

  void cancelStream(LeanClientStream.State state, Status status) {
    if (state.cancelled) {
      return;
    }
    state.cancelled = true;
    if (state.id < 0) {
      if (pendingStreams.remove(state) && state.countsForInUse()) {
        inUseChanged(-1);
      }
      if (state.outbound != null) {
        state.outbound.discard();
      }
      state.report(status, RpcProgress.PROCESSED, true, new Metadata());
      return;
    }
    resetStream(state, ErrorCode.CANCEL, status, true, new Metadata());
  }

  /** Resets an allocated stream: RST_STREAM to the peer and the status to the application. */
  void resetStream(LeanClientStream.State state, ErrorCode code, Status status,
      boolean stopDelivery, Metadata trailers) {
    if (state.id < 0) {
      state.report(status, RpcProgress.PROCESSED, stopDelivery, trailers);
      return;
    }
    StreamRules.resetLocally(connection, state, code);
    state.report(status, RpcProgress.PROCESSED, stopDelivery, trailers);
    removeStream(state);
  }

  /** Loop thread: the connection, null until {@code connect} opened its socket. */
  @Nullable
  ClientConnection connection() {
    return connection;
  }

  /** Removes a stream once both directions are closed. */
  void maybeRemoveStream(LeanClientStream.State state) {
    if (state.localClosed && state.remoteClosed) {
      removeStream(state);
    }
  }

  void removeStream(LeanClientStream.State state) {
    if (!StreamRules.unregister(connection, state)) {
      return;
    }
    state.markDone();
    if (state.countsForInUse()) {
      inUseChanged(-1);
    }
    if (shutdownStatus != null || goAwayReceived) {
      maybeFinishShutdown();
    } else {
      startPendingStreams();
    }
  }

  private void inUseChanged(int delta) {
    boolean before = inUseStreams > 0;
    inUseStreams += delta;
    boolean after = inUseStreams > 0;
    if (before != after) {
      listener.transportInUse(after);
      if (keepAliveManager != null) {
        if (after) {
          keepAliveManager.onTransportActive();
        } else {
          keepAliveManager.onTransportIdle();
        }
      }
    }
  }

  // ------------------------------------------------------------------ lifecycle

  @Override
  public void ping(PingCallback callback, Executor executor) {
    try {
      loop.execute(() -> {
        if (connection == null || connection.closed || terminated) {
          Http2Ping.notifyFailed(callback, executor, shutdownStatusOrUnavailable());
          return;
        }
        if (ping == null) {
          ping = new Http2Ping(ThreadLocalRandom.current().nextLong(),
              GrpcUtil.STOPWATCH_SUPPLIER.get());
          ping.addCallback(callback, executor);
          connection.sendControl(new ControlFrame.Ping(false, ping.payload()));
          transportTracer.reportKeepAliveSent();
        } else {
          ping.addCallback(callback, executor);
        }
      });
    } catch (RejectedExecutionException e) {
      Http2Ping.notifyFailed(callback, executor, shutdownStatusOrUnavailable());
    }
  }

  private Status shutdownStatusOrUnavailable() {
    return shutdownStatus != null ? shutdownStatus
        : Status.UNAVAILABLE.withDescription("transport closed");
  }

  @Override
  public void shutdown(Status reason) {
    runOnLoop(() -> startGracefulShutdown(reason));
  }

  private void startGracefulShutdown(Status reason) {
    if (shutdownStatus != null) {
      return;
    }
    shutdownStatus = reason;
    listener.transportShutdown(reason, SimpleDisconnectError.SUBCHANNEL_SHUTDOWN);
    failPending(reason, RpcProgress.MISCARRIED);
    maybeFinishShutdown();
  }

  @Override
  public void shutdownNow(Status reason) {
    shutdownNow(reason, SimpleDisconnectError.SUBCHANNEL_SHUTDOWN);
  }

  @Override
  public void shutdownNow(Status reason, DisconnectError disconnectError) {
    runOnLoop(() -> {
      if (shutdownStatus == null) {
        shutdownStatus = reason;
        listener.transportShutdown(reason, disconnectError);
      }
      if (connection != null && !connection.closed) {
        connection.sendGoAwayAndClose(ErrorCode.NO_ERROR, null, reason);
      } else if (connection == null) {
        terminate(reason, disconnectError);
      }
    });
  }

  void failPending(Status status, RpcProgress progress) {
    LeanClientStream.State s;
    while ((s = pendingStreams.poll()) != null) {
      if (s.countsForInUse()) {
        inUseChanged(-1);
      }
      if (s.outbound != null) {
        s.outbound.discard();
      }
      s.report(status, progress, true, new Metadata());
    }
  }

  void maybeFinishShutdown() {
    if (connection == null) {
      return;
    }
    if (connection.streams.isEmpty() && pendingStreams.size() == 0 && !connection.closed) {
      Status status = shutdownStatus != null ? shutdownStatus
          : Status.UNAVAILABLE.withDescription("GOAWAY received");
      connection.sendGoAwayAndClose(ErrorCode.NO_ERROR, null, status);
    }
  }

  /** Called once the socket is closed (or never opened). */
  void terminate(Status status, DisconnectError error) {
    if (terminated) {
      return;
    }
    terminated = true;
    if (connectTimeout != null) {
      connectTimeout.cancel(false);
    }
    if (shutdownStatus == null) {
      shutdownStatus = status;
      listener.transportShutdown(status, error);
    }
    failPending(status, RpcProgress.MISCARRIED);
    if (ping != null) {
      ping.failed(status);
      ping = null;
    }
    if (keepAliveManager != null) {
      keepAliveManager.onTransportTermination();
    }
    listener.transportTerminated();
  }

  @Override
  public Attributes getAttributes() {
    return attributes;
  }

  @Override
  @Nullable
  java.nio.channels.SocketChannel socketChannel() {
    ClientConnection c = connection;
    return c == null ? null : c.socket.channel;
  }

  @Override
  @Nullable
  SocketAddress localAddress() {
    ClientConnection c = connection;
    if (c != null) {
      try {
        return c.socket.channel.getLocalAddress();
      } catch (IOException ignored) {
        // closed
      }
    }
    return null;
  }

  @Override
  SocketAddress remoteAddress() {
    return address;
  }

  @Override
  public String toString() {
    return MoreObjects.toStringHelper(this).add("logId", getLogId().getId())
        .add("address", address).toString();
  }

  private static void closeQuietly(SocketChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // nothing to do
      }
    }
  }

}
