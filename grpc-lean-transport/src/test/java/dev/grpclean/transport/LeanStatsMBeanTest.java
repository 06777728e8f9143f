package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.testing.ByteMethods;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.management.JMX;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Each running server and open channel has its stats MBean in the platform MBean server, read
 * through JMX as a snapshot the doctor can rebuild; shutting down unregisters it.
 */
public class LeanStatsMBeanTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final MethodDescriptor<byte[], byte[]> ECHO =
      ByteMethods.method(MethodType.UNARY, "test.MBean", "Echo");
  private final MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();

  @Test
  public void serverAndChannelRegisterWhileRunningAndUnregisterOnShutdown() throws Exception {
    LeanServerBuilder serverBuilder = LeanServerBuilder.forPort(0);
    assertNull("nothing registered before start", serverBuilder.connectionStats().objectName());
    Server server = serverBuilder.addService(ServerServiceDefinition.builder("test.MBean")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((req, out) -> {
          out.onNext(req);
          out.onCompleted();
        })).build()).build().start();
    LeanChannelBuilder channelBuilder =
        LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext();
    ManagedChannel channel = channelBuilder.build();
    ObjectName serverName = serverBuilder.connectionStats().objectName();
    ObjectName channelName = channelBuilder.connectionStats().objectName();
    try {
      assertNotNull(serverName);
      assertNotNull(channelName);
      assertNotEquals(serverName, channelName);
      assertEquals("LeanServer", serverName.getKeyProperty("type"));
      assertEquals("LeanChannel", channelName.getKeyProperty("type"));
      assertTrue(mbeans.isRegistered(serverName));
      assertTrue(mbeans.isRegistered(channelName));

      assertArrayEquals(new byte[] {1, 2, 3}, ClientCalls.blockingUnaryCall(channel, ECHO,
          CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), new byte[] {1, 2, 3}));
      Map<String, long[]> viaJmx =
          JMX.newMXBeanProxy(mbeans, serverName, LeanStatsMXBean.class).getSnapshot();
      LeanConnectionStats server1 = LeanConnectionStats.fromArrays(viaJmx);
      assertEquals(1, server1.get(Figure.CONNECTIONS_OPENED));
      assertEquals(1, server1.get(Figure.CONNECTIONS_OPEN));
      assertTrue(server1.get(Figure.BYTES_READ) > 0);
      assertTrue("frames by type survive the trip", server1.framesIn(
          dev.grpclean.transport.frame.FrameType.HEADERS) >= 1);
      assertTrue(server1.takenAtNanos() != 0);
      LeanConnectionStats client1 = LeanConnectionStats.fromArrays(
          JMX.newMXBeanProxy(mbeans, channelName, LeanStatsMXBean.class).getSnapshot());
      assertEquals(1, client1.get(Figure.CONNECTIONS_OPENED));
      assertTrue(client1.get(Figure.BYTES_WRITTEN) > 0);

      // Round-trip probes: the server's connections send a PING whose ack is timed; so does the
      // channel's, as the server sent it stream frames (the call's response) since its last.
      JMX.newMXBeanProxy(mbeans, channelName, LeanStatsMXBean.class).probeRoundTrips();
      JMX.newMXBeanProxy(mbeans, serverName, LeanStatsMXBean.class).probeRoundTrips();
      LeanConnectionStats probed;
      do {
        probed = serverBuilder.connectionStats().snapshot();
      } while (probed.get(Figure.PING_ACKS_RECEIVED) == 0);
      assertEquals(1, probed.get(Figure.PINGS_SENT));
      assertTrue(probed.get(Figure.PING_RTT_NANOS_LAST) > 0);
      LeanConnectionStats channelProbed;
      do {
        channelProbed = channelBuilder.connectionStats().snapshot();
      } while (channelProbed.get(Figure.PING_ACKS_RECEIVED) == 0);
      assertEquals(1, channelProbed.get(Figure.PINGS_SENT));
      assertTrue(channelProbed.get(Figure.PING_RTT_NANOS_LAST) > 0);
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
      assertTrue(channel.awaitTermination(10, TimeUnit.SECONDS));
      assertTrue(server.awaitTermination(10, TimeUnit.SECONDS));
    }
    assertFalse(mbeans.isRegistered(serverName));
    assertFalse(mbeans.isRegistered(channelName));
    assertNull(serverBuilder.connectionStats().objectName());
    assertNull(channelBuilder.connectionStats().objectName());
  }

  @Test
  public void arraysRoundTripAndUnknownNamesAreSkipped() {
    LeanConnectionStats s = LeanConnectionStats.builder(42).add(Figure.BYTES_READ, 7)
        .add(Figure.EXECUTOR_QUEUE_WAIT_NANOS, 5)
        .record(LeanConnectionStats.Histogram.EXECUTOR_QUEUE_WAIT_NANOS, 5)
        .record(LeanConnectionStats.Histogram.BYTES_PER_READ, 100).addFramesIn(0, 3).build();
    Map<String, long[]> m = s.toArrays();
    m.put("A_FIGURE_FROM_A_NEWER_VERSION", new long[] {9});
    m.remove(Figure.BYTES_WRITTEN.name());
    LeanConnectionStats back = LeanConnectionStats.fromArrays(m);
    assertEquals(42, back.takenAtNanos());
    assertEquals(7, back.get(Figure.BYTES_READ));
    assertEquals(0, back.get(Figure.BYTES_WRITTEN));
    assertEquals(1, back.histogramBucket(LeanConnectionStats.Histogram.BYTES_PER_READ,
        LeanConnectionStats.bucketOf(100)));
    assertEquals(3, back.framesIn(0));
    assertEquals("a figure and a histogram of the same name both survive", 5,
        back.get(Figure.EXECUTOR_QUEUE_WAIT_NANOS));
    assertEquals(1, back.histogramCount(LeanConnectionStats.Histogram.EXECUTOR_QUEUE_WAIT_NANOS));
  }
}
