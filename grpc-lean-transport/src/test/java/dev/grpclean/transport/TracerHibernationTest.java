package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import io.grpc.InternalChannelz.TransportStats;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * A hibernating server connection drops grpc-core's transport tracer and keeps its figures packed
 * ({@link TracerPacking}): channelz sees the same figures before, while and after, and the next
 * calls count on top of them.
 */
public class TracerHibernationTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final Duration WAIT = Duration.ofSeconds(20);

  /** Every field survives packing; two packed tracers add up (counts) or take the later time. */
  @Test
  public void packingKeepsEveryFigure() {
    Random r = new Random(11);
    for (int i = 0; i < 500; i++) {
      TransportStats a = random(r);
      TransportStats b = random(r);
      byte[] packed = TracerPacking.pack(null, a);
      assertEquals(render(a, 7, 9), render(TracerPacking.merge(packed, null, 7, 9)));
      TransportStats both = TracerPacking.merge(TracerPacking.pack(packed, b), null, 1, 2);
      assertEquals(a.streamsStarted + b.streamsStarted, both.streamsStarted);
      assertEquals(Math.max(a.lastLocalStreamCreatedTimeNanos, b.lastLocalStreamCreatedTimeNanos),
          both.lastLocalStreamCreatedTimeNanos);
      assertEquals(render(TracerPacking.merge(packed, b, 1, 2)), render(both));
    }
    assertEquals("nothing packed: zeros", render(new TransportStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        3, 4)), render(TracerPacking.merge(null, null, 3, 4)));
    assertEquals("all-zero figures pack to ten bytes", 10,
        TracerPacking.pack(null, TracerPacking.merge(null, null, 0, 0)).length);
  }

  private static TransportStats random(Random r) {
    long[] v = new long[10];
    for (int i = 0; i < v.length; i++) {
      boolean time = i == 1 || i == 2 || i == 8 || i == 9;
      v[i] = r.nextInt(4) == 0 ? 0
          : time ? 1_700_000_000_000_000_000L + (r.nextLong() >>> 4) : r.nextInt(1 << r.nextInt(31));
    }
    return new TransportStats(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], 0, 0);
  }

  private static String render(TransportStats s) {
    return render(s, s.localFlowControlWindow, s.remoteFlowControlWindow);
  }

  private static String render(TransportStats s, long local, long remote) {
    return s.streamsStarted + "," + s.lastLocalStreamCreatedTimeNanos + ","
        + s.lastRemoteStreamCreatedTimeNanos + "," + s.streamsSucceeded + "," + s.streamsFailed + ","
        + s.messagesSent + "," + s.messagesReceived + "," + s.keepAlivesSent + ","
        + s.lastMessageSentTimeNanos + "," + s.lastMessageReceivedTimeNanos + "," + local + ","
        + remote;
  }

  /**
   * A real server connection: the sweeper drops its tracer once it is idle; dropping it keeps
   * every channelz figure; the next call counts one more stream and message on top.
   */
  @Test
  public void realServerConnectionDropsItsTracerInvisibly() throws Exception {
    LeanServerBuilder serverBuilder = LeanServerBuilder.forPort(0).addService(Echo.service());
    Server server = serverBuilder.build().start();
    ManagedChannel channel =
        LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    try {
      assertArrayEquals(new byte[3], Echo.call(channel, new byte[3]));
      assertArrayEquals(new byte[4], Echo.call(channel, new byte[4]));
      LeanServerTransport t = transportOf(serverBuilder);
      Conditions.await(() -> onLoop(t, t::tracerHibernated), WAIT,
          () -> "the idle connection kept its tracer");
      TransportStats asleep = t.getStats().get(10, TimeUnit.SECONDS).data;
      assertEquals(2, asleep.streamsSucceeded);
      assertEquals(2, asleep.messagesReceived);
      assertEquals(2, asleep.messagesSent);
      assertTrue(asleep.lastMessageReceivedTimeNanos > 0);
      assertTrue(asleep.localFlowControlWindow > 0);

      // Awake (a tracer again after a call), dropping it changes no figure.
      assertArrayEquals(new byte[5], Echo.call(channel, new byte[5]));
      String[] r = onLoop(t, () -> {
        TransportStats before = t.transportStats();
        boolean hadTracer = !t.tracerHibernated();
        t.hibernateTracer();
        return new String[] {render(before), render(t.transportStats()),
            Boolean.toString(hadTracer), Boolean.toString(t.tracerHibernated())};
      });
      assertEquals("true", r[2]);
      assertEquals("true", r[3]);
      assertEquals(r[0], r[1]);
      TransportStats third = t.getStats().get(10, TimeUnit.SECONDS).data;
      assertEquals(3, third.streamsSucceeded);
      assertEquals(3, third.messagesReceived);
      assertEquals(3, third.messagesSent);
      assertTrue(third.lastMessageReceivedTimeNanos >= asleep.lastMessageReceivedTimeNanos);
      assertFalse(channel.isShutdown());
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static LeanServerTransport transportOf(LeanServerBuilder b) {
    LeanServerTransport found = null;
    for (Http2Connection c : b.connectionStats().openConnections()) {
      assertTrue(c instanceof ServerConnection);
      assertEquals("one connection", null, found);
      found = ((ServerConnection) c).transport();
    }
    assertTrue(found != null);
    return found;
  }

  private static <T> T onLoop(LeanServerTransport t, java.util.function.Supplier<T> s) {
    CompletableFuture<T> f = new CompletableFuture<>();
    t.loop.execute(() -> f.complete(s.get()));
    try {
      return f.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
