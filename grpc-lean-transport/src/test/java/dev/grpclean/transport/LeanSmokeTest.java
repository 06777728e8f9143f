package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;

import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.ClientCalls;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class LeanSmokeTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Test
  public void unaryRoundTripLeanToLean() throws Exception {
    Server server = LeanServerBuilder.forPort(0).addService(Echo.service()).build()
        .start();
    roundTrips(server, LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().build());
  }

  @Test
  public void unaryRoundTripLeanToNetty() throws Exception {
    Server server = io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder.forPort(0)
        .maxInboundMessageSize(8 << 20).addService(Echo.service()).build().start();
    roundTrips(server, LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().build());
  }

  @Test
  public void unaryRoundTripNettyToLean() throws Exception {
    Server server = LeanServerBuilder.forPort(0).maxInboundMessageSize(8 << 20)
        .addService(Echo.service()).build().start();
    roundTrips(server, io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder
        .forAddress("127.0.0.1", server.getPort()).usePlaintext().build());
  }

  @Test
  public void unaryRoundTripOkHttpToLean() throws Exception {
    Server server = LeanServerBuilder.forPort(0).maxInboundMessageSize(8 << 20)
        .addService(Echo.service()).build().start();
    roundTrips(server, io.grpc.okhttp.OkHttpChannelBuilder
        .forAddress("127.0.0.1", server.getPort()).usePlaintext().build());
  }

  private static void roundTrips(Server server, ManagedChannel channel) throws Exception {
    try {
      for (int size : new int[] {0, 1, 100, 70_000, 3 << 20}) {
        byte[] req = new byte[size];
        for (int i = 0; i < size; i++) {
          req[i] = (byte) i;
        }
        byte[] resp = ClientCalls.blockingUnaryCall(channel, Echo.UNARY,
            CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)
                .withMaxInboundMessageSize(8 << 20), req);
        assertArrayEquals(req, resp);
      }
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    LeanLeases.assertNoneLeased();
  }
}
