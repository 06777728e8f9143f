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
 * Each running server has its stats MBean in the platform MBean server, and the open channels
 * share one ({@link ChannelsStatsMBean}; one each with {@code -Dgrpclean.channelMBeans=true}),
 * read through JMX as a snapshot the doctor can rebuild; shutting down unregisters them.
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
      assertEquals("LeanChannels", channelName.getKeyProperty("type"));
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
      // Every open channel of this JVM is in the sum; this one's figures are part of it.
      LeanConnectionStats own = channelBuilder.connectionStats().snapshot();
      assertEquals(1, own.get(Figure.CONNECTIONS_OPENED));
      assertTrue(own.get(Figure.BYTES_WRITTEN) > 0);
      assertTrue(client1.get(Figure.CONNECTIONS_OPENED) >= 1);
      assertTrue(client1.get(Figure.BYTES_WRITTEN) >= own.get(Figure.BYTES_WRITTEN));

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
    assertFalse(ChannelsStatsMBean.groups().contains(channelBuilder.connectionStats()));
    assertNull(serverBuilder.connectionStats().objectName());
    assertNull(channelBuilder.connectionStats().objectName());
  }

  /**
   * Channels register no MBean of their own (exactly: the set of {@code type=LeanChannel} names is
   * unchanged by 20 channels, which join the shared one and leave it on shutdown); with {@code
   * -Dgrpclean.channelMBeans=true} each registers its own, as before.
   */
  @Test
  public void channelsShareOneMBeanUnlessEachAskedForItsOwn() throws Exception {
    ObjectName perChannel = new ObjectName("dev.grpclean:type=LeanChannel,*");
    java.util.Set<ObjectName> before = mbeans.queryNames(perChannel, null);
    int groupsBefore = ChannelsStatsMBean.groups().size();
    java.util.List<ManagedChannel> channels = new java.util.ArrayList<>();
    java.util.List<LeanChannelBuilder> builders = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 20; i++) {
        LeanChannelBuilder b = LeanChannelBuilder.forAddress("127.0.0.1", 1).usePlaintext();
        builders.add(b);
        channels.add(b.build());
      }
      assertEquals(before, mbeans.queryNames(perChannel, null));
      assertEquals(groupsBefore + 20, ChannelsStatsMBean.groups().size());
      ObjectName shared = new ObjectName(ChannelsStatsMBean.OBJECT_NAME);
      assertTrue(mbeans.isRegistered(shared));
      for (LeanChannelBuilder b : builders) {
        assertEquals(shared, b.connectionStats().objectName());
      }
    } finally {
      for (ManagedChannel c : channels) {
        c.shutdownNow();
        assertTrue(c.awaitTermination(10, TimeUnit.SECONDS));
      }
    }
    assertEquals(groupsBefore, ChannelsStatsMBean.groups().size());
    for (LeanChannelBuilder b : builders) {
      assertNull(b.connectionStats().objectName());
    }

    System.setProperty("grpclean.channelMBeans", "true");
    LeanChannelBuilder own = LeanChannelBuilder.forAddress("127.0.0.1", 1).usePlaintext();
    ManagedChannel ownChannel = own.build();
    ObjectName ownName = own.connectionStats().objectName();
    try {
      assertEquals("LeanChannel", ownName.getKeyProperty("type"));
      assertTrue(mbeans.isRegistered(ownName));
      assertEquals(before.size() + 1, mbeans.queryNames(perChannel, null).size());
      assertEquals(groupsBefore, ChannelsStatsMBean.groups().size());
      LeanConnectionStats.fromArrays(
          JMX.newMXBeanProxy(mbeans, ownName, LeanStatsMXBean.class).getSnapshot());
    } finally {
      System.clearProperty("grpclean.channelMBeans");
      ownChannel.shutdownNow();
      assertTrue(ownChannel.awaitTermination(10, TimeUnit.SECONDS));
    }
    assertFalse(mbeans.isRegistered(ownName));
  }

  /** The shared MBean's sum: per-connection figures add up, process-wide ones count once. */
  @Test
  public void channelsSumAddsTheirConnections() throws Exception {
    Server server = LeanServerBuilder.forPort(0).addService(
        ServerServiceDefinition.builder("test.MBean").addMethod(ECHO,
            ServerCalls.asyncUnaryCall((byte[] req,
                io.grpc.stub.StreamObserver<byte[]> out) -> {
              out.onNext(req);
              out.onCompleted();
            })).build()).build().start();
    LeanChannelBuilder b1 = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext();
    LeanChannelBuilder b2 = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext();
    ManagedChannel c1 = b1.build();
    ManagedChannel c2 = b2.build();
    try {
      for (ManagedChannel c : java.util.List.of(c1, c2, c2)) {
        ClientCalls.blockingUnaryCall(c, ECHO,
            CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), new byte[] {7});
      }
      LeanConnectionStats s1 = b1.connectionStats().snapshot();
      LeanConnectionStats s2 = b2.connectionStats().snapshot();
      LeanConnectionStats both = ConnectionStatsGroup.snapshotOf(
          java.util.List.of(b1.connectionStats(), b2.connectionStats()));
      assertEquals(2, both.get(Figure.CONNECTIONS_OPENED));
      assertEquals(2, both.get(Figure.CONNECTIONS_OPEN));
      assertEquals(s1.framesOut(dev.grpclean.transport.frame.FrameType.HEADERS)
          + s2.framesOut(dev.grpclean.transport.frame.FrameType.HEADERS),
          both.framesOut(dev.grpclean.transport.frame.FrameType.HEADERS));
      assertEquals(3, both.framesOut(dev.grpclean.transport.frame.FrameType.HEADERS));
      long loops = Math.max(s1.get(Figure.LOOP_THREADS), s2.get(Figure.LOOP_THREADS));
      assertTrue("loop threads once: " + both.get(Figure.LOOP_THREADS),
          both.get(Figure.LOOP_THREADS) <= s1.get(Figure.LOOP_THREADS)
              + s2.get(Figure.LOOP_THREADS) && both.get(Figure.LOOP_THREADS) >= loops);
    } finally {
      c1.shutdownNow();
      c2.shutdownNow();
      server.shutdownNow();
      assertTrue(c1.awaitTermination(10, TimeUnit.SECONDS));
      assertTrue(c2.awaitTermination(10, TimeUnit.SECONDS));
      assertTrue(server.awaitTermination(10, TimeUnit.SECONDS));
    }
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
