package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The counters of real connections, summed per server and per channel: each side's figures for
 * frames, bytes and resets match what the other side counted, and a closed connection's figures
 * stay in the sum.
 */
public class ConnectionStatsGroupTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final int CALLS = 20;

  @Rule public final EchoConnection echo = new EchoConnection();

  @Test
  public void bothSidesCountTheSameFramesAndBytes() throws Exception {
    byte[] request = new byte[100];
    for (int i = 0; i < CALLS; i++) {
      assertArrayEquals(request, Echo.call(echo.channel, request));
    }
    ConnectionStatsGroup serverStats = echo.serverBuilder.connectionStats();
    ConnectionStatsGroup clientStats = echo.channelBuilder.connectionStats();
    // The last bytes either side wrote (a SETTINGS ack, a WINDOW_UPDATE) may still be in flight.
    Conditions.await(() -> clientStats.snapshot().get(Figure.BYTES_WRITTEN)
            == serverStats.snapshot().get(Figure.BYTES_READ)
            && serverStats.snapshot().get(Figure.BYTES_WRITTEN)
            == clientStats.snapshot().get(Figure.BYTES_READ), WAIT,
        () -> "bytes differ: client " + clientStats.snapshot() + " server "
            + serverStats.snapshot());
    LeanConnectionStats client = clientStats.snapshot();
    LeanConnectionStats server = serverStats.snapshot();

    assertEquals(1, client.get(Figure.CONNECTIONS_OPEN));
    assertEquals(1, server.get(Figure.CONNECTIONS_OPENED));
    assertEquals(CALLS, client.framesOut(FrameType.HEADERS));
    assertEquals(CALLS, server.framesIn(FrameType.HEADERS));
    assertEquals("response headers and trailers", 2 * CALLS, server.framesOut(FrameType.HEADERS));
    assertEquals(2 * CALLS, client.framesIn(FrameType.HEADERS));
    for (int type = 0; type < LeanConnectionStats.FRAME_TYPES; type++) {
      assertEquals("type " + type, client.framesOut(type), server.framesIn(type));
      assertEquals("type " + type, server.framesOut(type), client.framesIn(type));
    }
    assertTrue(server.get(Figure.DATA_TURNS) >= CALLS);
    for (LeanConnectionStats s : new LeanConnectionStats[] {client, server}) {
      assertTrue(s.toString(), s.get(Figure.READ_SYSCALLS) >= s.get(Figure.READABLE_EVENTS));
      assertTrue(s.toString(), s.get(Figure.READABLE_EVENTS) > 0);
      assertTrue(s.toString(), s.get(Figure.WRITE_SYSCALLS) >= s.get(Figure.FLUSHES));
      assertTrue(s.toString(), s.get(Figure.FLUSHES) > 0);
      assertTrue(s.toString(), s.framesPerRead() > 0);
      assertEquals(s.toString(), 0, s.get(Figure.STREAM_WINDOW_BLOCKED_EVENTS));
    }
  }

  /**
   * The echo method as the client sees a streaming one: a call that sends one message keeps its
   * headers for the write of its END_STREAM (as grpc-netty does), a streaming call sends them at
   * start, so the server sees a call that has sent nothing else yet.
   */
  private static final MethodDescriptor<byte[], byte[]> STREAMING_ECHO =
      Echo.UNARY.toBuilder().setType(MethodType.BIDI_STREAMING).build();

  @Test
  public void resetsCountedByCodeOnBothSides() throws Exception {
    // Called as a streaming method, so its headers leave at start (see below).
    ClientCall<byte[], byte[]> call = echo.channel.newCall(STREAMING_ECHO, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<byte[]>() {}, new Metadata());
    call.request(1);
    // The unary handler waits for the request, so the stream stays open until the reset.
    Conditions.await(() -> echo.serverBuilder.connectionStats().snapshot()
        .framesIn(FrameType.HEADERS) == 1, WAIT, () -> "HEADERS never arrived");
    call.cancel("test cancels", null);
    Conditions.await(() -> echo.serverBuilder.connectionStats().snapshot()
            .rstStreamIn(ErrorCode.CANCEL.code()) == 1, WAIT,
        () -> "server saw no RST_STREAM: " + echo.serverBuilder.connectionStats().snapshot());
    assertEquals(1, echo.channelBuilder.connectionStats().snapshot()
        .rstStreamOut(ErrorCode.CANCEL.code()));
  }

  @Test
  public void closedConnectionsStayInTheSumAndGracefulShutdownTimesAPing() throws Exception {
    assertArrayEquals(new byte[10], Echo.call(echo.channel, new byte[10]));
    // An open call keeps the client from closing at the first GOAWAY, so it acks the PING.
    ClientCall<byte[], byte[]> call = echo.channel.newCall(STREAMING_ECHO, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<byte[]>() {}, new Metadata());
    ConnectionStatsGroup serverStats = echo.serverBuilder.connectionStats();
    Conditions.await(() -> serverStats.snapshot().framesIn(FrameType.HEADERS) == 2, WAIT,
        () -> "HEADERS never arrived");
    echo.server.shutdown();
    Conditions.await(() -> serverStats.snapshot().get(Figure.PING_ACKS_RECEIVED) == 1, WAIT,
        () -> "graceful-shutdown PING not acked: " + serverStats.snapshot());
    // The second GOAWAY follows the ack; once the call ends the client may close before it
    // reads what is still on its way, so it is awaited while the call holds the connection.
    Conditions.await(() -> echo.channelBuilder.connectionStats().snapshot()
            .goAwayIn(ErrorCode.NO_ERROR.code()) >= 2, WAIT,
        () -> "client saw no second GOAWAY: " + echo.channelBuilder.connectionStats().snapshot());
    call.cancel("test ends the last call", null);
    assertTrue(echo.server.awaitTermination(20, TimeUnit.SECONDS));
    Conditions.await(() -> serverStats.snapshot().get(Figure.CONNECTIONS_OPEN) == 0, WAIT,
        () -> "still open: " + serverStats.snapshot());
    LeanConnectionStats s = serverStats.snapshot();
    assertEquals(1, s.get(Figure.CONNECTIONS_OPENED));
    assertEquals("kept after close", 2, s.framesIn(FrameType.HEADERS));
    // The double GOAWAY (announce, then fix the last stream), and the one the close sends.
    assertEquals(3, s.goAwayOut(ErrorCode.NO_ERROR.code()));
    assertEquals("the graceful-shutdown PING", 1, s.get(Figure.PINGS_SENT));
    assertEquals(1, s.get(Figure.PING_ACKS_RECEIVED));
    assertTrue(s.toString(), s.meanPingRttNanos() > 0);
    assertEquals(0, s.get(Figure.QUEUE_DEPTH));
    assertEquals(0, s.get(Figure.STREAMS_BLOCKED_ON_WINDOW));
    assertTrue("kept after close", echo.channelBuilder.connectionStats().snapshot()
        .goAwayIn(ErrorCode.NO_ERROR.code()) >= 2);
  }
}
