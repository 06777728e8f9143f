package dev.grpclean.interop;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.testing.integration.AbstractInteropTest;
import java.util.concurrent.TimeUnit;

/**
 * grpc-interop-testing's test cases against a server in another process, over the configured
 * transport. Like grpc-java's TestServiceClient it starts no server of its own and records client
 * stats through the suite's census interceptor, which the cases assert on.
 *
 * <p>Thread-compatible: one case at a time, between {@link #setUp} and {@link #tearDown}.
 */
final class InteropTester extends AbstractInteropTest {
  private final ClientConfig config;
  private final ChannelCredentials credentials;

  InteropTester(ClientConfig config, ChannelCredentials credentials) {
    this.config = config;
    this.credentials = credentials;
  }

  @Override
  protected ManagedChannelBuilder<?> createChannelBuilder() {
    return config
        .transport
        .channelBuilder(config.host, config.port, credentials, config.hostOverride)
        .intercept(createCensusStatsClientInterceptor());
  }

  /** A new channel built like the test's own, for the soak cases. */
  ManagedChannel newChannel() {
    return createChannel();
  }

  /** Shuts {@code current} down and returns a fresh channel: channel_soak's per-RPC channel. */
  ManagedChannel replaceChannel(ManagedChannel current) {
    current.shutdownNow();
    try {
      current.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while replacing the soak channel", e);
    }
    return createChannel();
  }
}
