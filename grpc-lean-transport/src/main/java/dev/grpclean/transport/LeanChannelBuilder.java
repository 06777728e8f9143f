package dev.grpclean.transport;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import dev.grpclean.transport.spi.HandshakerFactory;
import dev.grpclean.transport.tls.TlsHandshakers;
import io.grpc.ChannelCredentials;
import io.grpc.ForwardingChannelBuilder2;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.internal.ClientTransportFactory;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.KeepAliveManager;
import io.grpc.internal.ManagedChannelImplBuilder;
import io.grpc.internal.TransportTracer;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.concurrent.TimeUnit;

/**
 * Builds a channel on the lean transport. A drop-in for {@code NettyChannelBuilder}: every
 * standard option is grpc-core's, plus the transport's knobs below.
 *
 * <p>Like grpc-netty, a builder without credentials uses TLS with the JVM's default trust store
 * unless {@link #usePlaintext()} is called. Credentials passed to {@code forTarget}/{@code
 * forAddress} fix the security: {@link InsecureChannelCredentials}, {@code TlsChannelCredentials}
 * or the ALTS-like credentials of the {@code alts-like-handshaker} module. Not thread-safe:
 * configure from one thread.
 */
public final class LeanChannelBuilder extends ForwardingChannelBuilder2<LeanChannelBuilder> {
  private static final int PLAINTEXT_DEFAULT_PORT = 80;
  private static final int TLS_DEFAULT_PORT = 443;

  private final ManagedChannelImplBuilder delegate;
  /** Fixed by credentials given at construction; then usePlaintext/useTransportSecurity refuse. */
  private final boolean credentialsFixed;
  /** Without credentials: plaintext only after usePlaintext(), TLS otherwise (as grpc-netty). */
  private boolean plaintext;
  int flowControlWindowBytes = TransportSettings.DEFAULT_FLOW_CONTROL_WINDOW_BYTES;
  /**
   * Receive windows grow with the measured bandwidth-delay product: on by default, as in
   * grpc-netty, which reads the same environment variable to turn it off.
   */
  boolean autoFlowControl = !"false".equalsIgnoreCase(
      System.getenv("GRPC_EXPERIMENTAL_AUTOFLOWCONTROL"));
  /** Shared by every channel this builder builds. */
  final ConnectionStatsGroup statsGroup = new ConnectionStatsGroup();
  int maxInboundMetadataBytes = GrpcUtil.DEFAULT_MAX_HEADER_LIST_SIZE;
  int maxInboundMessageBytes = GrpcUtil.DEFAULT_MAX_MESSAGE_SIZE;
  long maxQueuedBytesPerConnection = TransportSettings.DEFAULT_MAX_QUEUED_BYTES_PER_CONNECTION;
  @javax.annotation.Nullable LeanMemoryBudget memoryBudget;
  long keepAliveTimeNanos = GrpcUtil.KEEPALIVE_TIME_NANOS_DISABLED;
  long keepAliveTimeoutNanos = GrpcUtil.DEFAULT_KEEPALIVE_TIMEOUT_NANOS;
  /**
   * Bound on connect, security handshake and the server's first SETTINGS together: 20 s, as the
   * server's handshake timeout. Set only through {@link InternalLeanChannelBuilder}.
   */
  long connectTimeoutNanos = TimeUnit.SECONDS.toNanos(20);
  boolean keepAliveWithoutCalls;
  int pollerThreads;
  /** From the credentials given at construction; null for plaintext or no credentials. */
  private final HandshakerFactory handshakerFactory;
  private HandshakerFactory defaultTls;
  TransportTracer.Factory transportTracerFactory = TransportTracer.getDefaultFactory();
  /** Sinks given through {@link #addMetricSink}, reported to by {@link LeanMetrics}. */
  private final java.util.List<io.grpc.MetricSink> metricSinks = new java.util.ArrayList<>();
  /** The {@code grpc.target} label of the metrics: the target or address given. */
  private final String metricsTarget;

  public static LeanChannelBuilder forAddress(String host, int port) {
    return forTarget(GrpcUtil.authorityFromHostAndPort(host, port));
  }

  public static LeanChannelBuilder forAddress(String host, int port, ChannelCredentials creds) {
    return forTarget(GrpcUtil.authorityFromHostAndPort(host, port), creds);
  }

  /** A channel to one address: an {@link InetSocketAddress} or a {@link UnixDomainSocketAddress}. */
  public static LeanChannelBuilder forAddress(SocketAddress address) {
    return new LeanChannelBuilder(address, null);
  }

  public static LeanChannelBuilder forAddress(SocketAddress address, ChannelCredentials creds) {
    return new LeanChannelBuilder(address, creds);
  }

  public static LeanChannelBuilder forTarget(String target) {
    return new LeanChannelBuilder(target, null);
  }

  public static LeanChannelBuilder forTarget(String target, ChannelCredentials creds) {
    return new LeanChannelBuilder(target, creds);
  }

  private LeanChannelBuilder(String target, ChannelCredentials creds) {
    LeanCredentials.ChannelResult result = creds == null ? null : LeanCredentials.fromChannel(creds);
    this.delegate = new ManagedChannelImplBuilder(target, creds,
        result == null ? null : result.callCredentials, this::buildTransportFactory,
        this::defaultPort);
    this.credentialsFixed = creds != null;
    this.handshakerFactory = result == null ? null : result.handshakerFactory;
    this.metricsTarget = target;
  }

  private LeanChannelBuilder(SocketAddress address, ChannelCredentials creds) {
    checkArgument(address instanceof InetSocketAddress
        || address instanceof UnixDomainSocketAddress,
        "unsupported address type %s", address.getClass().getName());
    LeanCredentials.ChannelResult result = creds == null ? null : LeanCredentials.fromChannel(creds);
    this.delegate = new ManagedChannelImplBuilder(address, authorityOf(address), creds,
        result == null ? null : result.callCredentials, this::buildTransportFactory,
        this::defaultPort);
    this.credentialsFixed = creds != null;
    this.handshakerFactory = result == null ? null : result.handshakerFactory;
    this.metricsTarget = address.toString();
  }

  private static String authorityOf(SocketAddress address) {
    if (address instanceof InetSocketAddress) {
      InetSocketAddress inet = (InetSocketAddress) address;
      return GrpcUtil.authorityFromHostAndPort(inet.getHostString(), inet.getPort());
    }
    // RFC 3986 reg-name: a placeholder like grpc-netty uses for domain sockets.
    return "localhost";
  }

  /**
   * As grpc-core's builder (which still gets every sink, for its own metrics), and kept so the
   * transport reports its figures to the same sinks ({@link LeanMetrics}): this is how {@code
   * GrpcOpenTelemetry.configureChannelBuilder} reaches a channel, and grpc-java 1.79 passes
   * transports no {@code MetricRecorder}.
   */
  @Override
  protected LeanChannelBuilder addMetricSink(io.grpc.MetricSink metricSink) {
    metricSinks.add(metricSink);
    return super.addMetricSink(metricSink);
  }

  @Override
  protected ManagedChannelBuilder<?> delegate() {
    return delegate;
  }

  private int defaultPort() {
    return handshakerFactoryForBuild() == null ? PLAINTEXT_DEFAULT_PORT : TLS_DEFAULT_PORT;
  }

  private ClientTransportFactory buildTransportFactory() {
    statsGroup.reportTo(metricSinks, metricsTarget);
    return new LeanTransportFactory(this, handshakerFactoryForBuild());
  }

  /** The credentials' handshaker, or default TLS when security was asked for without them. */
  private HandshakerFactory handshakerFactoryForBuild() {
    if (credentialsFixed || plaintext) {
      return handshakerFactory;
    }
    if (defaultTls == null) {
      defaultTls = TlsHandshakers.forDefaultClient();
    }
    return defaultTls;
  }

  @Override
  public LeanChannelBuilder usePlaintext() {
    checkState(!credentialsFixed, "cannot call usePlaintext() after credentials were given");
    plaintext = true;
    return this;
  }

  @Override
  public LeanChannelBuilder useTransportSecurity() {
    checkState(!credentialsFixed, "cannot call useTransportSecurity() after credentials");
    plaintext = false;
    return this;
  }

  /**
   * The always-on counters of every connection of the channel(s) this builder builds, summed
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
  public LeanChannelBuilder connectionCounters(boolean on) {
    statsGroup.setCounting(on);
    return this;
  }

  /**
   * As grpc-java's: {@code executor} runs the callbacks of its calls (the response messages,
   * headers and close).
   * The transport wraps it to measure how long that work waited in the executor's queue ({@link
   * #connectionStats()}'s executor figures, which the {@link QpsDoctor} reads), timing one task
   * in 16; the direct executor is passed as is.
   */
  @Override
  public LeanChannelBuilder executor(
      @javax.annotation.Nullable java.util.concurrent.Executor executor) {
    return super.executor(statsGroup.timed(executor));
  }

  /**
   * A fixed per-stream and connection receive window in bytes (default 1 MiB, growing): as in
   * grpc-netty, an explicit window turns automatic growth off.
   */
  public LeanChannelBuilder flowControlWindow(int bytes) {
    checkArgument(bytes > 0, "flowControlWindow must be positive");
    flowControlWindowBytes = bytes;
    autoFlowControl = false;
    return this;
  }

  /**
   * The receive window in bytes the streams and the connection start with (default 1 MiB); unlike
   * {@link #flowControlWindow} it keeps automatic growth: while a download's measured
   * bandwidth-delay product fills most of the window, the windows double, up to 8 MiB (or this
   * window, if larger), as grpc-netty's {@code initialFlowControlWindow} does. Never below it.
   */
  public LeanChannelBuilder initialFlowControlWindow(int bytes) {
    checkArgument(bytes > 0, "initialFlowControlWindow must be positive");
    flowControlWindowBytes = bytes;
    return this;
  }

  /**
   * Turns automatic receive-window growth on or off (on by default unless the environment
   * variable {@code GRPC_EXPERIMENTAL_AUTOFLOWCONTROL} is {@code false}, as for grpc-netty).
   */
  public LeanChannelBuilder autoFlowControl(boolean enabled) {
    autoFlowControl = enabled;
    return this;
  }

  /**
   * The memory budget this channel's transports charge (see {@link LeanMemoryBudget} for what is
   * charged and how the transport degrades under it). One budget may be shared by several
   * servers and channels. Without one, the process-wide default from
   * {@code -Dgrpclean.memoryBudget} applies, and without that there is no budget.
   */
  public LeanChannelBuilder memoryBudget(LeanMemoryBudget budget) {
    this.memoryBudget = com.google.common.base.Preconditions.checkNotNull(budget, "budget");
    return this;
  }

  /**
   * Cap on DATA bytes one connection may hold queued behind the peer's flow-control windows
   * (default 32 MiB). Writes that pass it reset the stream that made them with
   * RESOURCE_EXHAUSTED, so a peer that stops reading cannot make this side buffer without bound.
   * Applications that honour {@code isReady()} queue about 32 KiB plus one message per stream.
   */
  public LeanChannelBuilder maxQueuedBytesPerConnection(long bytes) {
    checkArgument(bytes > 0, "maxQueuedBytesPerConnection must be positive: %s", bytes);
    this.maxQueuedBytesPerConnection = bytes;
    return this;
  }

  @Override
  public LeanChannelBuilder maxInboundMetadataSize(int bytes) {
    checkArgument(bytes > 0, "maxInboundMetadataSize must be > 0");
    maxInboundMetadataBytes = bytes;
    return this;
  }

  @Override
  public LeanChannelBuilder maxInboundMessageSize(int bytes) {
    checkArgument(bytes >= 0, "negative max");
    maxInboundMessageBytes = bytes;
    return this;
  }

  @Override
  public LeanChannelBuilder keepAliveTime(long time, TimeUnit unit) {
    checkArgument(time > 0L, "keepalive time must be positive");
    keepAliveTimeNanos = KeepAliveManager.clampKeepAliveTimeInNanos(unit.toNanos(time));
    if (keepAliveTimeNanos >= GrpcUtil.KEEPALIVE_TIME_NANOS_DISABLED / 2) {
      keepAliveTimeNanos = GrpcUtil.KEEPALIVE_TIME_NANOS_DISABLED;
    }
    return this;
  }

  @Override
  public LeanChannelBuilder keepAliveTimeout(long timeout, TimeUnit unit) {
    checkArgument(timeout > 0L, "keepalive timeout must be positive");
    keepAliveTimeoutNanos = KeepAliveManager.clampKeepAliveTimeoutInNanos(unit.toNanos(timeout));
    return this;
  }

  @Override
  public LeanChannelBuilder keepAliveWithoutCalls(boolean enable) {
    keepAliveWithoutCalls = enable;
    return this;
  }

  /**
   * Poller threads for this channel alone. By default (0) the channel shares the process-wide
   * poller group, so thousands of channels cost a handful of threads.
   */
  public LeanChannelBuilder pollerThreads(int threads) {
    checkArgument(threads >= 0, "threads must be non-negative: %s", threads);
    pollerThreads = threads;
    return this;
  }

  @Override
  public ManagedChannel build() {
    return delegate.build();
  }

  void setStatsEnabled(boolean value) {
    delegate.setStatsEnabled(value);
  }

  LeanChannelBuilder setTransportTracerFactory(TransportTracer.Factory factory) {
    transportTracerFactory = factory;
    return this;
  }

  static Collection<Class<? extends SocketAddress>> supportedSocketAddressTypes() {
    return Collections.unmodifiableList(
        Arrays.asList(InetSocketAddress.class, UnixDomainSocketAddress.class));
  }
}
