package dev.grpclean.transport;

import com.google.common.base.Ticker;
import io.grpc.ServerStreamTracer;
import io.grpc.internal.TransportTracer;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import javax.annotation.Nullable;

/**
 * Everything a server transport needs from its builder, frozen at build time.
 *
 * <p>Immutable; thread-safe.
 */
final class ServerConfig {
  final TransportSettings settings;
  final ScheduledExecutorService scheduler;
  /** The clock the scheduler's delays are measured on: {@link System#nanoTime} but in tests. */
  final Ticker ticker;
  final TransportTracer.Factory transportTracerFactory;
  final List<? extends ServerStreamTracer.Factory> streamTracerFactories;
  final int maxConcurrentStreams;
  final long keepAliveTimeNanos;
  final long keepAliveTimeoutNanos;
  final boolean permitKeepAliveWithoutCalls;
  final long permitKeepAliveTimeNanos;
  final long maxConnectionIdleNanos;
  final long maxConnectionAgeNanos;
  /** Null means wait for streams forever after a max-age GOAWAY. */
  @Nullable final Long maxConnectionAgeGraceNanos;
  final long handshakeTimeoutNanos;
  /** Rapid Reset budget per connection; 0 resets means no limit. */
  final int maxRstStreams;
  /** Connections the server keeps open at once; more are closed as they are accepted. */
  final int maxConnections;
  final long maxRstWindowNanos;
  /** Null for plaintext. */
  @Nullable final dev.grpclean.transport.spi.HandshakerFactory handshakerFactory;

  ServerConfig(LeanServerBuilder b, ScheduledExecutorService scheduler,
      List<? extends ServerStreamTracer.Factory> streamTracerFactories) {
    this.settings = new TransportSettings(b.flowControlWindowBytes, b.maxInboundMetadataBytes,
        b.maxInboundMessageBytes, b.maxQueuedBytesPerConnection, b.settingsAckTimeoutNanos,
        b.statsGroup, LeanMemoryBudget.resolve(b.memoryBudget));
    this.scheduler = scheduler;
    this.ticker = b.ticker;
    this.transportTracerFactory = b.transportTracerFactory;
    this.streamTracerFactories = streamTracerFactories;
    this.maxConcurrentStreams = b.maxConcurrentCallsPerConnection;
    this.keepAliveTimeNanos = b.keepAliveTimeNanos;
    this.keepAliveTimeoutNanos = b.keepAliveTimeoutNanos;
    this.permitKeepAliveWithoutCalls = b.permitKeepAliveWithoutCalls;
    this.permitKeepAliveTimeNanos = b.permitKeepAliveTimeNanos;
    this.maxConnectionIdleNanos = b.maxConnectionIdleNanos;
    this.maxConnectionAgeNanos = b.maxConnectionAgeNanos;
    this.maxConnectionAgeGraceNanos =
        b.maxConnectionAgeGraceNanos == LeanServerBuilder.MAX_CONNECTION_AGE_GRACE_NANOS_INFINITE
            ? null : b.maxConnectionAgeGraceNanos;
    this.handshakeTimeoutNanos = b.handshakeTimeoutNanos;
    this.maxRstStreams = b.maxRstStreams;
    this.maxConnections = b.maxConnections;
    this.maxRstWindowNanos = b.maxRstWindowNanos;
    this.handshakerFactory = b.handshakerFactory;
  }
}
