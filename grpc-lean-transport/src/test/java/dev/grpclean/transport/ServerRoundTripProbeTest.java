package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.Server;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * A server's round-trip probes time one PING at a time: asked again while its PING still awaits
 * the ack, a connection sends none, since a second PING would restart the first one's clock and
 * the mean round trip would read short (seen as a mean below the path's own delay when a slow
 * peer's round trip outlasted the probing interval).
 */
public class ServerRoundTripProbeTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final Duration WAIT = Duration.ofSeconds(10);

  @Test
  public void noSecondProbeWhileTheFirstAwaitsItsAck() throws Exception {
    LeanServerBuilder serverBuilder = LeanServerBuilder.forPort(0)
        .permitKeepAliveWithoutCalls(true)
        .permitKeepAliveTime(0, TimeUnit.NANOSECONDS); // the raw peer's own PINGs are allowed
    Server server = serverBuilder.addService(Echo.service()).build().start();
    ConnectionStatsGroup stats = serverBuilder.connectionStats();
    try (RawHttp2Client peer = RawHttp2Client.connect(server.getPort())) {
      peer.handshake().pingRoundTrip(1); // the server has the peer's SETTINGS
      stats.probeRoundTrips();
      RawHttp2Client.Frame probe = awaitProbe(peer);
      // Unanswered: asked twice more, no PING leaves. Two PING round trips of the peer's own,
      // sent after the asks, make sure the loop has run the probe tasks queued before them.
      stats.probeRoundTrips();
      stats.probeRoundTrips();
      peer.pingRoundTrip(2);
      peer.pingRoundTrip(3);
      LeanConnectionStats s = stats.snapshot();
      assertEquals("one PING timed at a time", 1, s.get(Figure.PINGS_SENT));
      assertEquals(0, s.get(Figure.PING_ACKS_RECEIVED));

      // Answered: its round trip is timed, and the next ask sends the next PING.
      peer.send(RawFrames.ping(true, ByteBuffer.wrap(probe.payload).getLong()));
      peer.pingRoundTrip(4); // the server has read the ack
      s = stats.snapshot();
      assertEquals(1, s.get(Figure.PING_ACKS_RECEIVED));
      assertTrue(s.meanPingRttNanos() > 0);
      stats.probeRoundTrips();
      awaitProbe(peer);
      assertEquals(2, stats.snapshot().get(Figure.PINGS_SENT));
    } finally {
      server.shutdownNow();
      assertTrue(server.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  private static RawHttp2Client.Frame awaitProbe(RawHttp2Client peer) throws Exception {
    return peer.awaitFrame(f -> f.type == FrameType.PING && !f.ack()
        && ByteBuffer.wrap(f.payload).getLong() == ConnectionStatsGroup.ROUND_TRIP_PROBE_PING,
        WAIT);
  }
}
