package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.RawHttp2Client.Frame;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Settings;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.Server;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * {@link ConnectionBudget} seen from the wire: a peer whose streams each hold part of a large
 * message. Under pressure the server restricts the stream windows with SETTINGS and keeps reading
 * (PING is answered); when the partial messages leave no room for any stream to finish, it fails
 * as few of them as free room for one, saying why, and lets another one through with a
 * WINDOW_UPDATE.
 */
public class ConnectionBudgetTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final long BUDGET_BYTES = 1 << 20;
  private static final int STREAMS = 8;
  private static final int PARTIAL_BYTES = 100 << 10;

  @Rule public final Timeout timeout = Timeout.seconds(60);

  private Server server;

  @After
  public void tearDown() throws InterruptedException {
    if (server != null) {
      server.shutdownNow();
      server.awaitTermination(10, TimeUnit.SECONDS);
    }
    LeanLeases.assertAllReturned();
  }

  @Test
  public void partialMessagesThatCannotCompleteFailTheFewestStreams() throws Exception {
    LeanMemoryBudget budget = LeanMemoryBudget.of(BUDGET_BYTES);
    server = LeanServerBuilder.forPort(0).memoryBudget(budget).addService(Echo.service())
        .build().start();
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      // Eight unary calls, each sending 100 KiB of a message that declares 1 MiB: ~850 KiB of
      // a 1 MiB budget held in partial messages, within the connection and stream windows.
      byte[] partial = new byte[5 + PARTIAL_BYTES];
      ByteBuffer.wrap(partial).put((byte) 0).putInt(1 << 20);
      for (int i = 0; i < STREAMS; i++) {
        int id = 1 + 2 * i;
        c.send(c.headers(id, RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName()), false),
            RawFrames.dataFrames(id, partial, false));
      }
      // Past half the budget: the server restricts every stream window.
      Frame settings = c.awaitFrame(f -> f.type == FrameType.SETTINGS && !f.ack(), WAIT);
      assertEquals(settings.toString(), ConnectionBudget.RESTRICTED_WINDOW_BYTES,
          initialWindowSize(settings));
      c.send(RawFrames.settingsAck());
      // It still reads: control frames are answered.
      c.send(RawFrames.ping(false, 7));
      c.awaitFrame(f -> f.type == FrameType.PING && f.ack(), WAIT);
      assertTrue(budget.toString(), budget.restrictedConnections() == 1);

      // Nobody can finish and nothing moves: after the stall period the server fails the
      // fewest streams that free room for one to go on (here one), and lets another through.
      // (The WINDOW_UPDATE, a control frame, may leave before the failed call's trailers.)
      Set<Integer> failed = new HashSet<>();
      Frame leaderUpdate = null;
      Frame rst = null;
      while (leaderUpdate == null || rst == null) {
        Frame f = c.awaitFrame(x -> x.streamId != 0 && (x.type == FrameType.HEADERS
            || x.type == FrameType.WINDOW_UPDATE || x.type == FrameType.RST_STREAM), WAIT);
        if (f.type == FrameType.HEADERS) {
          assertEquals(f.toString(), String.valueOf(Status.Code.RESOURCE_EXHAUSTED.value()),
              f.header("grpc-status"));
          assertTrue(f.header("grpc-message"), f.header("grpc-message").contains(
              "memory budget"));
          failed.add(f.streamId);
        } else if (f.type == FrameType.RST_STREAM) {
          // After trailers a server ends the request side with NO_ERROR (RFC 9113 §8.1).
          assertTrue(f.toString(),
              f.errorCode() == ErrorCode.NO_ERROR || f.errorCode() == ErrorCode.CANCEL);
          rst = f;
        } else if (leaderUpdate == null) {
          leaderUpdate = f;
        }
      }
      assertEquals("streams failed: " + failed + ", " + budget, 1, failed.size());
      assertTrue(rst.toString(), failed.contains(rst.streamId));
      assertEquals(budget.toString(), 1, budget.streamsReclaimed());
      assertTrue("the failed stream is not let through", !failed.contains(leaderUpdate.streamId));
      int increment = ByteBuffer.wrap(leaderUpdate.payload).getInt() & 0x7FFF_FFFF;
      assertTrue("the leader's window is restored: " + increment,
          increment >= TransportSettings.DEFAULT_FLOW_CONTROL_WINDOW_BYTES
              - ConnectionBudget.RESTRICTED_WINDOW_BYTES);
    }
    Conditions.await(() -> budget.usedBytes() == 0 && budget.restrictedConnections() == 0
        && budget.promisedBytes() == 0, WAIT, budget::toString);
  }

  private static long initialWindowSize(Frame settings) {
    ByteBuffer p = ByteBuffer.wrap(settings.payload);
    while (p.remaining() >= 6) {
      int id = p.getShort() & 0xFFFF;
      long value = p.getInt() & 0xFFFF_FFFFL;
      if (id == Settings.INITIAL_WINDOW_SIZE) {
        return value;
      }
    }
    return -1;
  }
}
