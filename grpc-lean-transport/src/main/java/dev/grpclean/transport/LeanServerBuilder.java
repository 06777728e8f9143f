package dev.grpclean.transport;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.base.Ticker;
import dev.grpclean.transport.spi.HandshakerFactory;
import io.grpc.ForwardingServerBuilder;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.ServerStreamTracer;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.InternalServer;
import io.grpc.internal.ServerImplBuilder;
import io.grpc.internal.SharedResourcePool;
import io.grpc.internal.TransportTracer;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Builds a gRPC server on the lean transport. A drop-in for {@code NettyServerBuilder}: the same
 * standard options, plus the transport's own knobs below.
 *
 * <p>Not thread-safe: configure from one thread, then {@link #build()}.
 */
public final class LeanServerBuilder extends ForwardingServerBuilder<LeanServerBuilder> {
  static final long MAX_CONNECTION_IDLE_NANOS_DISABLED = Long.MAX_VALUE;
  static final long MAX_CONNECTION_AGE_NANOS_DISABLED = Long.MAX_VALUE;
  static final long MAX_CONNECTION_AGE_GRACE_NANOS_INFINITE = Long.MAX_VALUE;
  /**
   * Clients must finish the HTTP/2 preface and SETTINGS within this time, or the connection is
   * closed. 20 s matches grpc-java's default handshake timeout order of magnitude while keeping
   * half-open connections from lingering for minutes.
   */
  static final long DEFAULT_HANDSHAKE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(20);
  /** Minimum keepalive time a server may ask of itself: pings more often than this are abuse. */
  private static final long MIN_KEEPALIVE_TIME_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private final ServerImplBuilder serverImplBuilder;
  private final SocketAddress address;
  /** Null for plaintext. */
  final HandshakerFactory handshakerFactory;
  int flowControlWindowBytes = TransportSettings.DEFAULT_FLOW_CONTROL_WINDOW_BYTES;
  /** Shared by every server this builder builds. */
  final ConnectionStatsGroup statsGroup = new ConnectionStatsGroup();
  int maxInboundMetadataBytes = GrpcUtil.DEFAULT_MAX_HEADER_LIST_SIZE;
  int maxInboundMessageBytes = GrpcUtil.DEFAULT_MAX_MESSAGE_SIZE;
  long maxQueuedBytesPerConnection = TransportSettings.DEFAULT_MAX_QUEUED_BYTES_PER_CONNECTION;
  @javax.annotation.Nullable LeanMemoryBudget memoryBudget;
  int maxRstStreams = ResetBudget.DEFAULT_MAX_RESETS;
  int maxConnections = Integer.MAX_VALUE;
  long maxRstWindowNanos = ResetBudget.DEFAULT_WINDOW_NANOS;
  int maxConcurrentCallsPerConnection = Integer.MAX_VALUE;
  long keepAliveTimeNanos = GrpcUtil.DEFAULT_SERVER_KEEPALIVE_TIME_NANOS;
  long keepAliveTimeoutNanos = GrpcUtil.DEFAULT_SERVER_KEEPALIVE_TIMEOUT_NANOS;
  boolean permitKeepAliveWithoutCalls;
  long permitKeepAliveTimeNanos = TimeUnit.MINUTES.toNanos(5);
  long maxConnectionIdleNanos = MAX_CONNECTION_IDLE_NANOS_DISABLED;
  long maxConnectionAgeNanos = MAX_CONNECTION_AGE_NANOS_DISABLED;
  long maxConnectionAgeGraceNanos = MAX_CONNECTION_AGE_GRACE_NANOS_INFINITE;
  long handshakeTimeoutNanos = DEFAULT_HANDSHAKE_TIMEOUT_NANOS;
  int pollerThreads;
  long settingsAckTimeoutNanos = TransportSettings.DEFAULT_SETTINGS_ACK_TIMEOUT_NANOS;
  TransportTracer.Factory transportTracerFactory = TransportTracer.getDefaultFactory();
  /** Tests ({@link #timerForTests}): the timer instead of grpc-core's shared timer service. */
  @javax.annotation.Nullable ScheduledExecutorService timerForTests;
  /** The clock of the server's timers: {@link System#nanoTime} but in tests. */
  Ticker ticker = Ticker.systemTicker();

  /** A server on all interfaces at {@code port} (0 picks a free port; see {@code getPort()}). */
  public static LeanServerBuilder forPort(int port) {
    return new LeanServerBuilder(new InetSocketAddress(port));
  }

  public static LeanServerBuilder forPort(int port, ServerCredentials creds) {
    return forAddress(new InetSocketAddress(port), creds);
  }

  /** A server at {@code address}: an {@link InetSocketAddress} or a Unix domain socket path. */
  public static LeanServerBuilder forAddress(SocketAddress address) {
    return new LeanServerBuilder(address);
  }

  public static LeanServerBuilder forAddress(SocketAddress address, ServerCredentials creds) {
    return new LeanServerBuilder(address, LeanCredentials.fromServer(creds));
  }

  private LeanServerBuilder(SocketAddress address) {
    this(address, null);
  }

  private LeanServerBuilder(SocketAddress address, HandshakerFactory handshakerFactory) {
    this.handshakerFactory = handshakerFactory;
    checkArgument(address instanceof InetSocketAddress
        || address instanceof java.net.UnixDomainSocketAddress,
        "unsupported address type %s", address.getClass().getName());
    this.address = address;
    this.serverImplBuilder = new ServerImplBuilder(this::buildTransportServers);
  }

  @Override
  protected ServerBuilder<?> delegate() {
    return serverImplBuilder;
  }

  private InternalServer buildTransportServers(
      List<? extends ServerStreamTracer.Factory> streamTracerFactories) {
    ScheduledExecutorService scheduler = timerForTests != null ? timerForTests
        : SharedResourcePool.forResource(GrpcUtil.TIMER_SERVICE).getObject();
    ServerConfig config = new ServerConfig(this, scheduler, streamTracerFactories);
    // A test timer comes with loops of its own: a loop's idle sweeper schedules on the timer of
    // the connections it watches, which on a shared loop must be the one every server uses.
    int threads = timerForTests != null && pollerThreads <= 0 ? 1 : pollerThreads;
    return new LeanServer(config, address, SharedLoops.pool(threads));
  }

  /**
   * The always-on counters of every connection of the server(s) this builder builds, summed
   * ({@link ConnectionStatsGroup#snapshot()}): reads, writes, the writer queue, flow-control
   * stalls and frames. Available before {@code build()}; the figures start once connections do.
   */
  public ConnectionStatsGroup connectionStats() {
    return statsGroup;
  }

  /**
   * Whether connections built from now on keep their counters (default on, or off for every
   * builder with {@code -Dgrpclean.connectionCounters=false}). Off, the counting code returns at
   * its first line and {@link #connectionStats()} shows zeros for those connections; the switch
   * exists to measure what counting costs.
   */
  public LeanServerBuilder connectionCounters(boolean on) {
    statsGroup.setCounting(on);
    return this;
  }

  /**
   * As grpc-java's: {@code executor} runs the handlers (after the transport handed grpc-core a
   * call or a message).
   * The transport wraps it to measure how long that work waited in the executor's queue ({@link
   * #connectionStats()}'s executor figures, which the {@link QpsDoctor} reads), timing one task
   * in 16; the direct executor is passed as is.
   */
  @Override
  public LeanServerBuilder executor(
      @javax.annotation.Nullable java.util.concurrent.Executor executor) {
    return super.executor(statsGroup.timed(executor));
  }

  /** Per-stream and connection receive window in bytes (default 1 MiB). */
  public LeanServerBuilder flowControlWindow(int bytes) {
    checkArgument(bytes > 0, "flowControlWindow must be positive");
    this.flowControlWindowBytes = bytes;
    return this;
  }

  /**
   * The memory budget this server's transports charge (see {@link LeanMemoryBudget} for what is
   * charged and how the transport degrades under it). One budget may be shared by several
   * servers and channels. Without one, the process-wide default from
   * {@code -Dgrpclean.memoryBudget} applies, and without that there is no budget.
   */
  public LeanServerBuilder memoryBudget(LeanMemoryBudget budget) {
    this.memoryBudget = com.google.common.base.Preconditions.checkNotNull(budget, "budget");
    return this;
  }

  /**
   * Cap on DATA bytes one connection may hold queued behind the peer's flow-control windows
   * (default 32 MiB). Writes that pass it reset the stream that made them with
   * RESOURCE_EXHAUSTED, so a peer that stops reading cannot make this side buffer without bound.
   * Applications that honour {@code isReady()} queue about 32 KiB plus one message per stream.
   */
  public LeanServerBuilder maxQueuedBytesPerConnection(long bytes) {
    checkArgument(bytes > 0, "maxQueuedBytesPerConnection must be positive: %s", bytes);
    this.maxQueuedBytesPerConnection = bytes;
    return this;
  }

  /**
   * Rapid Reset limit, as grpc-netty's builder names it: a connection whose streams end in a reset
   * (RST_STREAM from the client, or a stream error the client provoked) more than
   * {@code maxRstStream} times in {@code secondsPerWindow} is closed with GOAWAY
   * ENHANCE_YOUR_CALM. Default 1000 per 10 s (grpc-netty leaves it off); 0 turns it off.
   */
  public LeanServerBuilder maxRstFramesPerWindow(int maxRstStream, int secondsPerWindow) {
    checkArgument(maxRstStream >= 0, "maxRstStream must be non-negative: %s", maxRstStream);
    checkArgument(secondsPerWindow > 0, "secondsPerWindow must be positive: %s",
        secondsPerWindow);
    this.maxRstStreams = maxRstStream;
    this.maxRstWindowNanos = TimeUnit.SECONDS.toNanos(secondsPerWindow);
    return this;
  }

  /**
   * Connections this server keeps open at once (default: no cap). Past it, new connections are
   * accepted and closed at once (the client sees UNAVAILABLE), with a WARNING log line the first
   * time and at most once a minute after that.
   */
  public LeanServerBuilder maxConnections(int max) {
    checkArgument(max > 0, "maxConnections must be positive: %s", max);
    this.maxConnections = max;
    return this;
  }

  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise; the excess is refused (RFC 9113 §5.1.2). */
  public LeanServerBuilder maxConcurrentCallsPerConnection(int maxCalls) {
    checkArgument(maxCalls > 0, "max must be positive: %s", maxCalls);
    this.maxConcurrentCallsPerConnection = maxCalls;
    return this;
  }

  @Override
  public LeanServerBuilder maxInboundMessageSize(int bytes) {
    checkArgument(bytes >= 0, "bytes must be non-negative: %s", bytes);
    this.maxInboundMessageBytes = bytes;
    return this;
  }

  @Override
  public LeanServerBuilder maxInboundMetadataSize(int bytes) {
    checkArgument(bytes > 0, "maxInboundMetadataSize must be positive: %s", bytes);
    this.maxInboundMetadataBytes = bytes;
    return this;
  }

  @Override
  public LeanServerBuilder keepAliveTime(long time, TimeUnit unit) {
    checkArgument(time > 0L, "keepalive time must be positive: %s", time);
    keepAliveTimeNanos = Math.max(unit.toNanos(time), MIN_KEEPALIVE_TIME_NANOS);
    if (keepAliveTimeNanos >= GrpcUtil.SERVER_KEEPALIVE_TIME_NANOS_DISABLED / 2) {
      keepAliveTimeNanos = GrpcUtil.SERVER_KEEPALIVE_TIME_NANOS_DISABLED;
    }
    return this;
  }

  @Override
  public LeanServerBuilder keepAliveTimeout(long timeout, TimeUnit unit) {
    checkArgument(timeout > 0L, "keepalive timeout must be positive: %s", timeout);
    keepAliveTimeoutNanos = unit.toNanos(timeout);
    return this;
  }

  @Override
  public LeanServerBuilder permitKeepAliveTime(long time, TimeUnit unit) {
    checkArgument(time >= 0, "permit keepalive time must be non-negative: %s", time);
    permitKeepAliveTimeNanos = unit.toNanos(time);
    return this;
  }

  @Override
  public LeanServerBuilder permitKeepAliveWithoutCalls(boolean permit) {
    permitKeepAliveWithoutCalls = permit;
    return this;
  }

  /**
   * Tests: the server's timers (handshake, keepalive, max idle and age, graceful shutdown, and
   * grpc-core's own through the transport) run on {@code timer}, and the transports read {@code
   * ticker} rather than {@link System#nanoTime}, so that a test steps time instead of sleeping.
   * The server then runs on a poller thread of its own (unless {@link #pollerThreads} says how
   * many): the shared loops' idle sweepers must not end up on a timer only one test moves.
   */
  LeanServerBuilder timerForTests(ScheduledExecutorService timer, Ticker ticker) {
    this.timerForTests = timer;
    this.ticker = ticker;
    return this;
  }

  @Override
  public LeanServerBuilder maxConnectionIdle(long idle, TimeUnit unit) {
    checkArgument(idle > 0L, "max connection idle must be positive: %s", idle);
    maxConnectionIdleNanos = unit.toNanos(idle);
    return this;
  }

  @Override
  public LeanServerBuilder maxConnectionAge(long age, TimeUnit unit) {
    checkArgument(age > 0L, "max connection age must be positive: %s", age);
    maxConnectionAgeNanos = unit.toNanos(age);
    return this;
  }

  @Override
  public LeanServerBuilder maxConnectionAgeGrace(long grace, TimeUnit unit) {
    checkArgument(grace >= 0L, "max connection age grace must be non-negative: %s", grace);
    maxConnectionAgeGraceNanos = unit.toNanos(grace);
    return this;
  }

  /** Time allowed for the HTTP/2 preface and first SETTINGS (default 20 s). */
  @Override
  public LeanServerBuilder handshakeTimeout(long timeout, TimeUnit unit) {
    checkArgument(timeout > 0, "handshake timeout must be positive: %s", timeout);
    handshakeTimeoutNanos = unit.toNanos(timeout);
    // grpc-core keeps its own (120 s) backstop; ours fires first and answers with GOAWAY
    // PROTOCOL_ERROR instead of grpc-core's plain shutdownNow.
    return this;
  }

  /**
   * Poller threads for this server alone. By default (0) the server shares the process-wide
   * poller group with every other lean channel and server.
   */
  public LeanServerBuilder pollerThreads(int threads) {
    checkArgument(threads >= 0, "threads must be non-negative: %s", threads);
    this.pollerThreads = threads;
    return this;
  }

  void setSettingsAckTimeout(long timeout, TimeUnit unit) {
    settingsAckTimeoutNanos = unit.toNanos(timeout);
  }

  void setStatsEnabled(boolean value) {
    serverImplBuilder.setStatsEnabled(value);
  }

  LeanServerBuilder setTransportTracerFactory(TransportTracer.Factory factory) {
    this.transportTracerFactory = factory;
    return this;
  }
}
