package dev.grpclean.transport;

import com.google.common.base.MoreObjects;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.io.EventLoop;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.InternalLogId;
import io.grpc.SecurityLevel;
import io.grpc.Status;
import io.grpc.internal.GrpcAttributes;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.ServerTransport;
import io.grpc.internal.ServerTransportListener;
import io.grpc.internal.TransportTracer;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;

/**
 * The server side of one accepted HTTP/2 connection, as grpc-core sees it: start, handshake and
 * connection-age timers, keepalive, graceful (double GOAWAY) and forced shutdown, stats. The
 * HTTP/2 work is {@link ServerConnection}'s.
 *
 * <p>Public methods may be called from any thread and hand their work to the connection's loop;
 * everything else is confined to that loop thread.
 */
final class LeanServerTransport extends LeanTransportBase
    implements ServerTransport, ServerKeepAlive.Owner, MaxConnectionIdle.Owner {
  private static final Logger log = Logger.getLogger(LeanServerTransport.class.getName());
  /** Payload of the PING that times the double-GOAWAY graceful shutdown (RFC 9113 §6.8). */
  static final long GRACEFUL_SHUTDOWN_PING = 0x97ACEF001L;
  /** Upper bound on waiting for that PING's ack before the second GOAWAY. */
  private static final long GRACEFUL_SHUTDOWN_PING_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);
  /** Payload of our keepalive PINGs. */
  private static final long KEEPALIVE_PING = 0xDEADL;

  private final LeanServer server;
  final ServerConfig serverConfig;
  private final ServerConnection connection;
  ServerTransportListener listener;
  /** Streams above this id are ignored: a GOAWAY said we will not process them. */
  int goAwayStreamId = Integer.MAX_VALUE;
  boolean gracefulShutdown;
  boolean secondGoAwaySent;
  private Long gracefulShutdownPeriodNanos;
  private boolean terminated;
  private ScheduledFuture<?> secondGoAwayTimer;
  ScheduledFuture<?> handshakeTimer;
  private ScheduledFuture<?> maxAgeTimer;
  private ScheduledFuture<?> forcefulCloseTimer;
  /**
   * grpc-core's figures of this transport (channelz; streams report into it); made on first use
   * and dropped while the connection hibernates, its figures then kept in {@link #tracerPacked}.
   */
  @Nullable private TransportTracer tracer;
  /** Figures of the tracers dropped so far ({@link TracerPacking}); null before the first. */
  @Nullable private byte[] tracerPacked;
  /** Keepalive both ways: our PINGs (started only if keepalive is on), policing the peer's. */
  final ServerKeepAlive keepAlive;
  /** The max-connection-idle timer; null when that setting is off. */
  @Nullable MaxConnectionIdle maxIdle;

  LeanServerTransport(LeanServer server, EventLoop loop, SocketChannel channel) {
    this(server, loop, channel, initialAttributes(channel));
  }

  private LeanServerTransport(LeanServer server, EventLoop loop, SocketChannel channel,
      Attributes initial) {
    super(loop, InternalLogId.allocate(LeanServerTransport.class,
        String.valueOf(initial.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR))), initial);
    this.server = server;
    this.serverConfig = server.config;
    this.keepAlive = new ServerKeepAlive(this);
    this.connection = new ServerConnection(this, channel);
  }

  /** The socket's addresses as accepted (absent if it already failed); not yet secured. */
  private static Attributes initialAttributes(SocketChannel channel) {
    SocketAddress remote = null;
    SocketAddress local = null;
    try {
      remote = channel.getRemoteAddress();
      local = channel.getLocalAddress();
    } catch (IOException ignored) {
      // reported as absent
    }
    return Attributes.newBuilder()
        .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, remote)
        .set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, local)
        .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.NONE)
        .build();
  }

  Attributes attributes() {
    return attributes;
  }

  /** Loop thread: a task of this connection threw; the connection fails as a whole. */
  void onLoopFailure(Throwable t) {
    connection.onLoopFailure(t);
  }

  /** The tracer streams report into; loop thread. */
  TransportTracer tracer() {
    TransportTracer t = tracer;
    if (t == null) {
      t = serverConfig.transportTracerFactory.create();
      t.setFlowControlWindowReader(connection.connectionFlow);
      tracer = t;
    }
    return t;
  }

  /**
   * Loop thread: the connection hibernates (no streams, nothing read or written for a sweep
   * period): the tracer's figures are packed and the tracer goes; the next stream makes another.
   */
  void hibernateTracer() {
    if (tracer != null) {
      tracerPacked = TracerPacking.pack(tracerPacked, tracer.getStats());
      tracer = null;
    }
  }

  /** Whether the tracer is dropped now (tests). */
  boolean tracerHibernated() {
    return tracer == null;
  }

  @Override
  io.grpc.InternalChannelz.TransportStats transportStats() {
    io.grpc.internal.TransportTracer.FlowControlWindows w = connection.connectionFlow.read();
    return TracerPacking.merge(tracerPacked, tracer == null ? null : tracer.getStats(),
        w.localBytes, w.remoteBytes);
  }

  @Override
  void onBytesRead() {
    keepAlive.onDataReceived();
  }

  /** Keepalive (timer thread): a PING goes out on the loop. */
  @Override
  public void ping() {
    runOnLoop(() -> {
      if (!connection.closed) {
        connection.sendControl(new ControlFrame.Ping(false, KEEPALIVE_PING));
        tracer().reportKeepAliveSent();
      }
    });
  }

  /** Keepalive (timer thread): nothing came back within the timeout after a PING. */
  @Override
  public void onPingTimeout() {
    shutdownNow(Status.UNAVAILABLE.withDescription("Keepalive failed. Considering"
        + " connection dead"));
  }

  @Override
  public ScheduledExecutorService keepAliveScheduler() {
    return serverConfig.scheduler;
  }

  @Override
  public long keepAliveTimeNanos() {
    return serverConfig.keepAliveTimeNanos;
  }

  @Override
  public long keepAliveTimeoutNanos() {
    return serverConfig.keepAliveTimeoutNanos;
  }

  @Override
  public ScheduledExecutorService maxIdleScheduler() {
    return serverConfig.scheduler;
  }

  @Override
  public void executeOnLoop(Runnable check) {
    runOnLoop(check);
  }

  /** Loop thread: no stream for max-connection-idle; the double GOAWAY, no grace period. */
  @Override
  public void onMaxConnectionIdle() {
    startGracefulShutdown(null);
  }

  @Override
  public long nanoTime() {
    return serverConfig.ticker.read();
  }

  @Override
  public boolean permitKeepAliveWithoutCalls() {
    return serverConfig.permitKeepAliveWithoutCalls;
  }

  @Override
  public long permitKeepAliveTimeNanos() {
    return serverConfig.permitKeepAliveTimeNanos;
  }

  /** Loop thread: registers the socket and starts the HTTP/2 exchange. */
  void start(ServerTransportListener listener) {
    this.listener = listener;
    try {
      connection.register(SelectionKey.OP_READ);
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
      keepAlive.start();
    }
    if (serverConfig.maxConnectionIdleNanos != LeanServerBuilder.MAX_CONNECTION_IDLE_NANOS_DISABLED) {
      maxIdle = new MaxConnectionIdle(this, serverConfig.maxConnectionIdleNanos);
      maxIdle.start();
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
    if (!connection.settings.peerSettingsReceived && !connection.closed) {
      log.log(Level.FINE, "{0}: no HTTP/2 preface and SETTINGS within the handshake timeout",
          this);
      connection.sendGoAwayAndClose(ErrorCode.PROTOCOL_ERROR, "handshake timeout",
          Status.UNAVAILABLE.withDescription("handshake timed out"));
    }
  }

  // ------------------------------------------------------------------ lifecycle

  @Override
  public void shutdown() {
    runOnLoop(() -> startGracefulShutdown(null));
  }

  /** Double GOAWAY (RFC 9113 §6.8): announce, wait one round trip, then fix the last stream. */
  void startGracefulShutdown(Long gracePeriodNanos) {
    if (gracefulShutdown || connection.closed) {
      return;
    }
    gracefulShutdown = true;
    gracefulShutdownPeriodNanos = gracePeriodNanos;
    if (!connection.settings.peerSettingsReceived) {
      connection.closeNow(Status.UNAVAILABLE.withDescription("server shut down"));
      return;
    }
    connection.sendControl(new ControlFrame.GoAway(Integer.MAX_VALUE, ErrorCode.NO_ERROR,
        new byte[0]));
    connection.sendControl(new ControlFrame.Ping(false, GRACEFUL_SHUTDOWN_PING));
    secondGoAwayTimer = serverConfig.scheduler.schedule(() -> runOnLoop(this::sendSecondGoAway),
        GRACEFUL_SHUTDOWN_PING_TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
  }

  void sendSecondGoAway() {
    if (secondGoAwaySent || connection.closed) {
      return;
    }
    secondGoAwaySent = true;
    if (secondGoAwayTimer != null) {
      secondGoAwayTimer.cancel(false);
      secondGoAwayTimer = null;
    }
    goAwayStreamId = connection.lastStreamId;
    if (connection.openStreams() == 0) {
      connection.sendGoAwayAndClose(ErrorCode.NO_ERROR, null,
          Status.UNAVAILABLE.withDescription("server shut down"));
      return;
    }
    connection.sendControl(new ControlFrame.GoAway(connection.lastStreamId, ErrorCode.NO_ERROR,
        new byte[0]));
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
    connection.resetCalls(ErrorCode.CANCEL);
    connection.sendGoAwayAndClose(ErrorCode.NO_ERROR, null, reason);
  }

  @Override
  public ScheduledExecutorService getScheduledExecutorService() {
    return serverConfig.scheduler;
  }

  @Override
  java.nio.channels.SocketChannel socketChannel() {
    return connection.socket.channel;
  }

  @Override
  SocketAddress localAddress() {
    return attributes.get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR);
  }

  @Override
  SocketAddress remoteAddress() {
    return attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
  }

  @Override
  public String toString() {
    return MoreObjects.toStringHelper(this).add("logId", getLogId().getId())
        .add("remote", attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)).toString();
  }

  void terminate() {
    if (terminated) {
      return;
    }
    terminated = true;
    cancel(handshakeTimer);
    cancel(secondGoAwayTimer);
    cancel(maxAgeTimer);
    cancel(forcefulCloseTimer);
    keepAlive.stop();
    if (maxIdle != null) {
      maxIdle.stop();
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


}
