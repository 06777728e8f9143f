package dev.grpclean.bench.attack;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.testing.RawFrames;
import io.netty.handler.codec.http2.Http2Settings;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The attacker's connection against a scripted fake server on loopback: it parses what the
 * server sends, sees how the connection ended, and notices a server that stops reading. Every
 * wait is bounded by a deadline in the poll loop; nothing sleeps.
 */
public class RawConnectionTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  /** Client preface (24 bytes) plus our empty SETTINGS frame (9 bytes). */
  private static final int HANDSHAKE_BYTES = 24 + 9;

  private final ServerSocket listener;
  private final CompletableFuture<Void> script = new CompletableFuture<>();

  public RawConnectionTest() throws IOException {
    listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
  }

  @After
  public void stop() throws Exception {
    listener.close();
    script.get(10, TimeUnit.SECONDS);
  }

  /** What the fake server does with the one connection it accepts (on its own thread). */
  private interface Script {
    void run(Socket socket, DataInputStream in, OutputStream out) throws IOException;
  }

  private InetSocketAddress serve(Script s) {
    Thread t = new Thread(() -> {
      try (Socket socket = listener.accept()) {
        s.run(socket, new DataInputStream(socket.getInputStream()), socket.getOutputStream());
        script.complete(null);
      } catch (IOException | RuntimeException e) {
        script.completeExceptionally(e);
      }
    }, "fake-server");
    t.setDaemon(true);
    t.start();
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
  }

  @Test
  public void goAwayThenCleanCloseIsParsedAndSeenAsEof() {
    InetSocketAddress server = serve((socket, in, out) -> {
      in.readFully(new byte[HANDSHAKE_BYTES]);
      out.write(RawFrames.settings());
      out.write(RawFrames.goAway(3, ErrorCode.ENHANCE_YOUR_CALM, "calm down"));
      out.flush();
      // Everything the client sent was read: the close is a clean FIN.
    });
    try (Wire wire = new Wire(server)) {
      RawConnection c = wire.connect();
      c.answering(false);
      c.startHandshake(new Http2Settings());
      assertTrue(wire.pollUntil(c::closed, deadline(Duration.ofSeconds(10))));
      ServerAnswer a = c.answer;
      assertEquals(ServerAnswer.Close.EOF, a.close);
      assertTrue(a.serverSettingsSeen);
      assertEquals(1, a.goAways.size());
      assertEquals(3, a.firstGoAway().lastStreamId);
      assertEquals("GOAWAY ENHANCE_YOUR_CALM \"calm down\"", Outcome.describe(a));
      assertEquals(1, a.framesSent);
      assertEquals(HANDSHAKE_BYTES, a.bytesSent);
    }
  }

  @Test
  public void serverThatClosesDuringAFloodIsSeenAsReset() {
    InetSocketAddress server = serve((socket, in, out) -> {
      in.readFully(new byte[HANDSHAKE_BYTES + 17 * 100]);
      socket.setSoLinger(true, 0); // an abortive close: RST, whatever is in flight
    });
    try (Wire wire = new Wire(server)) {
      RawConnection c = wire.connect();
      c.reading(false);
      c.startHandshake(new Http2Settings());
      Frames.Batch ping = c.frames.ping(false, 1).take();
      Attack.Run run = run(server, Duration.ofSeconds(20));
      Attack.flood(run, wire, c, 100_000_000L, 4096, max -> ping.repeat(max));
      ping.bytes.release();
      ServerAnswer a = c.answer;
      assertEquals(ServerAnswer.Close.RESET, a.close);
      assertTrue(a.unreadAtClose);
      assertTrue("frames sent: " + a.framesSent, a.framesSent >= 101);
      assertTrue(a.framesSent < 100_000_000L);
      assertEquals("none seen (reset while its replies were unread)", Outcome.describe(a));
    }
  }

  @Test
  public void serverThatStopsReadingIsSeenAsStalled() {
    CompletableFuture<Void> release = new CompletableFuture<>();
    InetSocketAddress server = serve((socket, in, out) -> {
      in.readFully(new byte[HANDSHAKE_BYTES]);
      // Never reads again until the client has given up.
      release.join();
    });
    try (Wire wire = new Wire(server)) {
      RawConnection c = wire.connect();
      c.startHandshake(new Http2Settings());
      Frames.Batch ping = c.frames.ping(false, 1).take();
      Attack.Run run = run(server, Duration.ofSeconds(40));
      Attack.flood(run, wire, c, Long.MAX_VALUE, 4096, max -> ping.repeat(max));
      ping.bytes.release();
      release.complete(null);
      ServerAnswer a = c.answer;
      assertFalse(a.closed());
      assertTrue(a.stalledAtMillis >= 0);
      assertTrue(c.hasPending());
      assertTrue(new Outcome("test", java.util.List.of(a), java.util.Map.of()).framesCell()
          .endsWith("(stalled)"));
    }
  }

  @Test
  public void refusedConnectionIsRecorded() throws IOException {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    script.complete(null);
    try (Wire wire = new Wire(new InetSocketAddress(InetAddress.getLoopbackAddress(),
        closedPort))) {
      RawConnection c = wire.connect();
      assertTrue(wire.pollUntil(c::closed, deadline(Duration.ofSeconds(10))));
      assertEquals(ServerAnswer.Close.REFUSED, c.answer.close);
      assertFalse(c.connected());
      c.send(c.frames.ping(false, 1).take());
      assertEquals(0, c.answer.framesSent);
      assertEquals("connection refused", Outcome.describe(c.answer));
    }
  }

  private static Attack.Run run(InetSocketAddress server, Duration bound) {
    Attack.Run run = new Attack.Run(server, bound, 1, 1, () -> { });
    run.deadlineNanos = deadline(bound);
    return run;
  }

  private static long deadline(Duration d) {
    return System.nanoTime() + d.toNanos();
  }
}
