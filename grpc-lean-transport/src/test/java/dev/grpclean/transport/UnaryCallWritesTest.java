package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import java.time.Duration;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * A unary request and a unary response each leave in one write, one call at a time. Each is
 * written by grpc-core in more than one sink call (request: headers, then the message with
 * END_STREAM; response: headers and message unflushed, then trailers), and each sink call is a task
 * for the connection's loop, which flushes at the end of every batch: when only the last call asks
 * for a flush, the loop, woken by the first task, no longer flushes a request's headers or a
 * response's headers and message alone before the rest arrives from the application's thread,
 * and a read that queued nothing to send does not flush what waits for its own flush. Before,
 * 200 sequential calls took 258 writes on each side here (one run).
 */
public class UnaryCallWritesTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final int CALLS = 200;

  @Rule public final EchoConnection echo = new EchoConnection();

  @Test
  public void eachUnaryResponseLeavesInOneWrite() throws Exception {
    ConnectionStatsGroup stats = echo.serverBuilder.connectionStats();
    Delta d = sequentialCalls(stats);
    // The server sends HEADERS and trailers per call, DATA with the message.
    assertEquals(d.toString(), 2L * CALLS, d.headers);
    assertEquals(d.toString(), CALLS, d.data);
    assertTrue(d.toString(), d.writes <= CALLS + d.windowUpdates + d.pings);
  }

  @Test
  public void eachUnaryRequestLeavesInOneWrite() throws Exception {
    ConnectionStatsGroup stats = echo.channelBuilder.connectionStats();
    Delta d = sequentialCalls(stats);
    assertEquals(d.toString(), CALLS, d.headers);
    assertEquals(d.toString(), CALLS, d.data);
    assertTrue(d.toString(), d.writes <= CALLS + d.windowUpdates + d.pings);
  }

  /**
   * One call to set the connection up, then {@link #CALLS} calls one after the other: what
   * {@code stats}' side wrote for them (once the server's last trailers are counted).
   */
  private Delta sequentialCalls(ConnectionStatsGroup stats) {
    byte[] request = new byte[100];
    assertArrayEquals(request, Echo.call(echo.channel, request)); // connection set up
    ConnectionStatsGroup server = echo.serverBuilder.connectionStats();
    Conditions.await(() -> server.snapshot().framesOut(FrameType.HEADERS) == 2, WAIT,
        () -> "first response incomplete: " + server.snapshot());
    LeanConnectionStats before = stats.snapshot();
    for (int i = 0; i < CALLS; i++) {
      assertArrayEquals(request, Echo.call(echo.channel, request));
    }
    Conditions.await(() -> server.snapshot().framesOut(FrameType.HEADERS) == 2L + 2L * CALLS,
        WAIT, () -> "responses incomplete: " + server.snapshot());
    return new Delta(stats.snapshot().minus(before));
  }

  /** What one side wrote. */
  private static final class Delta {
    final long writes;
    final long headers;
    final long data;
    /** Writes carrying only a WINDOW_UPDATE or a PING (sent from the reading batch) may add. */
    final long windowUpdates;
    final long pings;
    final LeanConnectionStats stats;

    Delta(LeanConnectionStats d) {
      writes = d.get(Figure.WRITE_SYSCALLS);
      headers = d.framesOut(FrameType.HEADERS);
      data = d.framesOut(FrameType.DATA);
      windowUpdates = d.framesOut(FrameType.WINDOW_UPDATE);
      pings = d.framesOut(FrameType.PING);
      stats = d;
    }

    @Override
    public String toString() {
      return "writes " + writes + " for " + CALLS + " calls, window updates " + windowUpdates
          + ", pings " + pings + ": " + stats;
    }
  }
}
