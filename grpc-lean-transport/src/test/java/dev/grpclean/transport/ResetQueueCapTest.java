package dev.grpclean.transport;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.Server;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * RST_STREAM is a capped control response like a PING or SETTINGS ack: a peer that provokes
 * resets and never reads them (CVE-2019-9514) fills the writer's control queue. When the cap
 * refuses a reset, the connection must go away with GOAWAY ENHANCE_YOUR_CALM; dropping the reset
 * silently would leave the connection serving a peer that ignores us, with its stream state out
 * of step.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ResetQueueCapTest {
  @Test
  void resetsThePeerNeverReadsCloseTheConnectionAtTheControlQueueCap() throws Exception {
    // The Rapid Reset budget is off, so the control queue cap is the only protection left.
    Server server = LeanServerBuilder.forPort(0)
        .maxRstFramesPerWindow(0, 60)
        .addService(Echo.service())
        .build()
        .start();
    HostilePeerTest.LogCapture errors = HostilePeerTest.LogCapture.of(ConnectionClosing.class);
    long sent = 0;
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort(), 4096).handshake()) {
      // Stream 1 is opened and reset by the peer: from now on it is closed.
      c.send(c.headers(1, RawFrames.grpcRequestHeaders(
          Echo.UNARY.getFullMethodName()), false),
          RawFrames.rstStream(1, ErrorCode.CANCEL));
      // Each one-byte DATA frame on the closed stream is a stream error the server answers with
      // RST_STREAM(STREAM_CLOSED): 10 bytes in, 13 out. The server's socket buffer (up to 4 MiB
      // here) takes about 320,000 resets, its writer queues 10,000 more; about 3.5 MB of DATA
      // reach the cap, and 32 MB prove the server would otherwise go on.
      byte[] chunk = repeat(RawFrames.data(1, new byte[] {7}, false), 10_000);
      try {
        while (sent < 32L << 20) {
          c.send(chunk);
          sent += chunk.length;
        }
        fail("the server kept serving a peer that never reads its resets: " + sent + " bytes");
      } catch (IOException closed) {
        // The server went away mid-flood.
      }
    } finally {
      errors.close();
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    assertTrue(errors.messages().stream().anyMatch(m -> m.contains("ENHANCE_YOUR_CALM")
            && m.contains("too many queued control frames")),
        "closed after " + sent + " bytes, but not for the control queue cap: "
            + errors.messages());
  }

  private static byte[] repeat(byte[] frame, int times) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(frame.length * times);
    for (int i = 0; i < times; i++) {
      out.writeBytes(frame);
    }
    return out.toByteArray();
  }
}
