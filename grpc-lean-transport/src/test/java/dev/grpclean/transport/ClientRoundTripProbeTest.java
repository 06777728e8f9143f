package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.ByteMethods;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * A channel's round-trip probes: a PING leaves only after the server sent stream frames since the
 * last one, so probing as fast as asked never trips the server's keepalive enforcement (a lean
 * server with grpc's default policy: a third PING within 5 minutes without data in between is
 * answered with GOAWAY too_many_pings), and each probe is timed.
 */
public class ClientRoundTripProbeTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final MethodDescriptor<byte[], byte[]> ECHO =
      ByteMethods.method(MethodType.UNARY, "test.Probe", "Echo");
  private static final int ROUNDS = 10;

  @Test
  public void probesFollowServerFramesAndStayWithinKeepAlivePolicy() throws Exception {
    LeanServerBuilder serverBuilder = LeanServerBuilder.forPort(0);
    Server server = serverBuilder.addService(ServerServiceDefinition.builder("test.Probe")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((req, out) -> {
          out.onNext(req);
          out.onCompleted();
        })).build()).build().start();
    LeanChannelBuilder channelBuilder =
        LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext();
    ManagedChannel channel = channelBuilder.build();
    ConnectionStatsGroup client = channelBuilder.connectionStats();
    try {
      call(channel);
      for (int round = 1; round <= ROUNDS; round++) {
        client.probeRoundTrips();
        // Asked again before anything new arrived: no second PING (none is even sent while the
        // first awaits its ack).
        client.probeRoundTrips();
        client.probeRoundTrips();
        LeanConnectionStats s;
        do {
          s = client.snapshot();
        } while (s.get(Figure.PING_ACKS_RECEIVED) < round);
        assertEquals(round, s.get(Figure.PINGS_SENT));
        assertTrue(s.get(Figure.PING_RTT_NANOS_LAST) > 0);
        // Acked, but the server has sent nothing since: still no PING.
        client.probeRoundTrips();
        call(channel); // its frames are after the probe task on the loop, and flush it
        assertEquals(round, client.snapshot().get(Figure.PINGS_SENT));
      }
      LeanConnectionStats s = client.snapshot();
      assertEquals("the server never went away", 1, s.get(Figure.CONNECTIONS_OPENED));
      assertEquals(0, s.goAwayIn(ErrorCode.ENHANCE_YOUR_CALM.code()));
      LeanConnectionStats atServer = serverBuilder.connectionStats().snapshot();
      assertEquals(0, atServer.goAwayOut(ErrorCode.ENHANCE_YOUR_CALM.code()));
      assertEquals("the server saw exactly the probes", ROUNDS, atServer.framesIn(FrameType.PING));
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
      assertTrue(channel.awaitTermination(10, TimeUnit.SECONDS));
      assertTrue(server.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  @Test
  public void channelWithCountersOffSendsNoProbe() throws Exception {
    LeanServerBuilder serverBuilder = LeanServerBuilder.forPort(0);
    Server server = serverBuilder.addService(ServerServiceDefinition.builder("test.Probe")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((req, out) -> {
          out.onNext(req);
          out.onCompleted();
        })).build()).build().start();
    LeanChannelBuilder channelBuilder = LeanChannelBuilder.forAddress("127.0.0.1",
        server.getPort()).usePlaintext().connectionCounters(false);
    ManagedChannel channel = channelBuilder.build();
    try {
      call(channel);
      channelBuilder.connectionStats().probeRoundTrips();
      call(channel); // after the probe task on the client's loop: a PING would precede it
      assertEquals("nothing would time it", 0,
          serverBuilder.connectionStats().snapshot().framesIn(FrameType.PING));
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
      assertTrue(channel.awaitTermination(10, TimeUnit.SECONDS));
      assertTrue(server.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  private static void call(ManagedChannel channel) {
    ClientCalls.blockingUnaryCall(channel, ECHO,
        CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), new byte[] {1, 2, 3});
  }
}
