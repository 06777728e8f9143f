package dev.grpclean.transport;

import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.util.concurrent.TimeUnit;
import org.junit.rules.ExternalResource;

/**
 * A lean echo server ({@link Echo#service}) on port 0 and a plaintext lean channel to it, with
 * their builders kept for the connection counters they give ({@code connectionStats()}); after
 * the test, both shut down and no lease left ({@link LeanLeases#assertNoneLeased}).
 *
 * <p>The fields are set before each test and read by the test's thread only.
 */
final class EchoConnection extends ExternalResource {
  LeanServerBuilder serverBuilder;
  LeanChannelBuilder channelBuilder;
  Server server;
  ManagedChannel channel;

  @Override
  protected void before() throws Throwable {
    serverBuilder = LeanServerBuilder.forPort(0);
    server = serverBuilder.addService(Echo.service()).build().start();
    channelBuilder = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext();
    channel = channelBuilder.build();
  }

  @Override
  protected void after() {
    channel.shutdownNow();
    server.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while shutting down", e);
    }
    LeanLeases.assertNoneLeased();
  }
}
