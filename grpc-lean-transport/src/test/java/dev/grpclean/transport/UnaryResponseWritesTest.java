package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * A unary response (headers, message, trailers: three sink calls, only the last two asking for no
 * flush and a flush) reaches the server's loop as one task, so the loop's end-of-batch flush
 * cannot split it: one call at a time, each response leaves in one write. With one task per sink
 * call the loop, woken by the headers, flushed them before the message's task arrived from the
 * application thread.
 */
public class UnaryResponseWritesTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final int CALLS = 200;

  private LeanServerBuilder serverBuilder;
  private Server server;
  private ManagedChannel channel;

  @Before
  public void setUp() throws Exception {
    serverBuilder = LeanServerBuilder.forPort(0);
    server = serverBuilder.addService(Echo.service()).build().start();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @After
  public void tearDown() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.awaitTermination(5, TimeUnit.SECONDS);
    LeanLeases.assertNoneLeased();
  }

  @Test
  public void eachUnaryResponseLeavesInOneWrite() throws Exception {
    byte[] request = new byte[100];
    assertArrayEquals(request, Echo.call(channel, request)); // connection set up
    ConnectionStatsGroup stats = serverBuilder.connectionStats();
    Conditions.await(() -> stats.snapshot().framesOut(FrameType.HEADERS) == 2, WAIT,
        () -> "first response incomplete: " + stats.snapshot());
    LeanConnectionStats before = stats.snapshot();
    for (int i = 0; i < CALLS; i++) {
      assertArrayEquals(request, Echo.call(channel, request));
    }
    Conditions.await(() -> stats.snapshot().framesOut(FrameType.HEADERS)
        == before.framesOut(FrameType.HEADERS) + 2L * CALLS, WAIT,
        () -> "responses incomplete: " + stats.snapshot());
    LeanConnectionStats after = stats.snapshot();
    long writes = after.get(Figure.WRITE_SYSCALLS) - before.get(Figure.WRITE_SYSCALLS);
    long windowUpdates = after.framesOut(FrameType.WINDOW_UPDATE)
        - before.framesOut(FrameType.WINDOW_UPDATE);
    long pings = after.framesOut(FrameType.PING) - before.framesOut(FrameType.PING);
    assertEquals(CALLS, after.framesOut(FrameType.DATA) - before.framesOut(FrameType.DATA));
    // Writes carrying only a WINDOW_UPDATE or a PING (the loop sends them from the reader's
    // batch) are the only ones allowed beside one per response.
    assertTrue("writes " + writes + " for " + CALLS + " responses, window updates "
        + windowUpdates + ", pings " + pings + ": " + after,
        writes <= CALLS + windowUpdates + pings);
  }
}
