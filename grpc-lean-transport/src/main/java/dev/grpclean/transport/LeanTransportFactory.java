package dev.grpclean.transport;

import dev.grpclean.transport.io.EventLoopGroup;
import dev.grpclean.transport.spi.HandshakerFactory;
import io.grpc.ChannelCredentials;
import io.grpc.ChannelLogger;
import io.grpc.internal.AtomicBackoff;
import io.grpc.internal.ClientTransportFactory;
import io.grpc.internal.ConnectionClientTransport;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.ObjectPool;
import io.grpc.internal.SharedResourcePool;
import io.grpc.internal.TransportTracer;
import java.net.SocketAddress;
import java.util.Collection;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Creates client transports for one channel; owns the channel's share of the poller group and of
 * the timer service.
 *
 * <p>Thread-safe.
 */
final class LeanTransportFactory implements ClientTransportFactory {
  final TransportSettings settings;
  final ScheduledExecutorService scheduler;
  final TransportTracer.Factory transportTracerFactory;
  /** Null for plaintext. */
  final HandshakerFactory handshakerFactory;
  final long keepAliveTimeNanos;
  final long keepAliveTimeoutNanos;
  /** Connect, security handshake and the server's first SETTINGS, together. */
  final long connectTimeoutNanos;
  final boolean keepAliveWithoutCalls;
  private final AtomicBackoff keepAliveBackoff;
  private final ObjectPool<ScheduledExecutorService> schedulerPool =
      SharedResourcePool.forResource(GrpcUtil.TIMER_SERVICE);
  private final ObjectPool<EventLoopGroup> groupPool;
  private final EventLoopGroup group;
  private volatile boolean closed;

  LeanTransportFactory(LeanChannelBuilder b, HandshakerFactory handshakerFactory) {
    this.settings = new TransportSettings(b.flowControlWindowBytes, b.maxInboundMetadataBytes,
        b.maxInboundMessageBytes, b.maxQueuedBytesPerConnection,
        TransportSettings.DEFAULT_SETTINGS_ACK_TIMEOUT_NANOS, b.statsGroup,
        LeanMemoryBudget.resolve(b.memoryBudget), b.autoFlowControl,
        Math.max(b.flowControlWindowBytes, BdpEstimator.DEFAULT_MAX_WINDOW_BYTES));
    this.scheduler = schedulerPool.getObject();
    this.handshakerFactory = handshakerFactory;
    this.transportTracerFactory = b.transportTracerFactory;
    this.keepAliveTimeNanos = b.keepAliveTimeNanos;
    this.keepAliveTimeoutNanos = b.keepAliveTimeoutNanos;
    this.connectTimeoutNanos = b.connectTimeoutNanos;
    this.keepAliveWithoutCalls = b.keepAliveWithoutCalls;
    this.keepAliveBackoff = new AtomicBackoff("keepalive time nanos", keepAliveTimeNanos);
    this.groupPool = SharedLoops.pool(b.pollerThreads);
    this.group = groupPool.getObject();
    settings.statsGroup.retain(this, ConnectionStatsGroup.CHANNEL_TYPE);
  }

  @Override
  public ConnectionClientTransport newClientTransport(SocketAddress address,
      ClientTransportOptions options, ChannelLogger channelLogger) {
    if (closed) {
      throw new IllegalStateException("the transport factory is closed");
    }
    AtomicBackoff.State keepAliveState = keepAliveBackoff.getState();
    // With keepalive off there is nothing to back off: no runnable (and no state) per transport.
    boolean keepAlive = keepAliveTimeNanos != GrpcUtil.KEEPALIVE_TIME_NANOS_DISABLED;
    return new LeanClientTransport(this, group.next(), address, options.getAuthority(),
        GrpcUtil.getGrpcUserAgent("lean", options.getUserAgent()),
        options.getEagAttributes(), keepAliveState.get(),
        keepAlive ? keepAliveState::backoff : null);
  }

  @Override
  public ScheduledExecutorService getScheduledExecutorService() {
    return scheduler;
  }

  @Override
  public SwapChannelCredentialsResult swapChannelCredentials(ChannelCredentials channelCreds) {
    return null;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    settings.statsGroup.release(this);
    schedulerPool.returnObject(scheduler);
    groupPool.returnObject(group);
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getSupportedSocketAddressTypes() {
    return LeanChannelBuilder.supportedSocketAddressTypes();
  }
}
