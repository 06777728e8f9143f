package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.RawHttp2Client.Frame;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.ByteMethods;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import java.net.StandardSocketOptions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * A graceful server shutdown whose last response the socket cannot take at once: the close waits
 * until every byte has left (the peer gets all DATA, the trailers and the final GOAWAY, then the
 * close), and a peer that never reads is closed by the drain timeout with every lease back.
 *
 * <p>Deterministic without sleeping: the raw client opens its stream window in two steps. The
 * first lets all but the last {@link #TAIL} bytes out, which the client reads; the server then
 * shuts down (both GOAWAYs go out with the stream still open); the second WINDOW_UPDATE lets the
 * tail and the trailers go in one batch, so the stream ends (and the connection's final close is
 * decided) while that batch is far larger than the server's send buffer (shrunk by the test) and
 * the client's receive buffer together, and the client does not read until the decision was
 * made: the writer is blocked at the decision.
 *
 * <p>The test thread drives the raw client; the server runs on its own loop, with a
 * {@link SteppedTimer} so that the drain timeout fires only when the test advances it.
 */
public class GracefulCloseDrainTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final Duration WAIT = RawHttp2Client.DEFAULT_WAIT;
  private static final int MESSAGES = 32;
  private static final int MESSAGE_BYTES = 128 * 1024;
  /** DATA payload bytes of the whole response: each message has its 5-byte gRPC prefix. */
  private static final int TOTAL = MESSAGES * (MESSAGE_BYTES + 5);
  /** Let out only after the shutdown; with the trailers, one batch (at most 256 KiB). */
  private static final int TAIL = 160 * 1024;

  private static final MethodDescriptor<byte[], byte[]> STREAMING =
      ByteMethods.method(MethodDescriptor.MethodType.SERVER_STREAMING, "drain", "Stream");

  private final SteppedTimer timer = new SteppedTimer();
  /** Counted down once the handler's call is complete on the server (its trailers framed). */
  private final CountDownLatch callClosed = new CountDownLatch(1);
  /** Counted down once the handler has queued every message and the trailers. */
  private final CountDownLatch handlerDone = new CountDownLatch(1);
  private LeanServerBuilder builder;
  private Server server;

  @Before
  public void start() throws Exception {
    ServerServiceDefinition service = ServerServiceDefinition.builder("drain")
        .addMethod(STREAMING, ServerCalls.asyncServerStreamingCall((request, responses) -> {
          ((ServerCallStreamObserver<byte[]>) responses).setOnCloseHandler(callClosed::countDown);
          for (int i = 0; i < MESSAGES; i++) {
            byte[] m = new byte[MESSAGE_BYTES];
            java.util.Arrays.fill(m, (byte) i);
            responses.onNext(m);
          }
          responses.onCompleted();
          handlerDone.countDown();
        }))
        .build();
    builder = LeanServerBuilder.forPort(0).timerForTests(timer, timer.ticker);
    builder.addService(service);
    server = builder.build().start();
  }

  @After
  public void stop() throws Exception {
    server.shutdownNow();
    assertTrue(server.awaitTermination(10, TimeUnit.SECONDS));
    LeanLeases.assertAllReturned();
  }

  @Test
  public void gracefulShutdownWaitsUntilTheLastResponseHasLeft() throws Exception {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort(), 8 * 1024)) {
      ServerConnection conn = startAndShutDown(c);
      c.send(RawFrames.windowUpdate(1, TAIL));
      // Not reading yet: the server frames the tail and the trailers in one batch, which the
      // kernel cannot take; the stream ends and the final close is decided while it is blocked.
      assertTrue(callClosed.await(WAIT.toSeconds(), TimeUnit.SECONDS));
      onLoop(conn, () -> null); // after the close decided at the end of that loop batch

      long data = 0;
      Frame trailers = null;
      Frame goAway = null;
      Frame f;
      while ((f = c.readFrame(WAIT)) != null) {
        if (f.type == FrameType.DATA && f.streamId == 1) {
          assertEquals("no DATA after the trailers", null, trailers);
          data += f.payload.length;
        } else if (f.type == FrameType.HEADERS && f.streamId == 1 && f.endStream()) {
          trailers = f;
        } else if (f.type == FrameType.GOAWAY) {
          goAway = f;
        }
      }
      assertEquals("every byte of the tail arrived", TAIL, data);
      assertNotNull("trailers arrived: " + c.received().size() + " frames", trailers);
      assertEquals("0", trailers.header("grpc-status"));
      assertNotNull("the final GOAWAY arrived", goAway);
      assertEquals(ErrorCode.NO_ERROR, goAway.errorCode());
      assertEquals(1, goAway.lastStreamId());
      assertTrue(c.closedByPeer());
      assertTrue("the connection closed, so the server terminated",
          server.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  @Test
  public void peerThatNeverReadsIsClosedByTheDrainTimeout() throws Exception {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort(), 8 * 1024)) {
      ServerConnection conn = startAndShutDown(c);
      c.send(RawFrames.windowUpdate(1, TAIL));
      assertTrue(callClosed.await(WAIT.toSeconds(), TimeUnit.SECONDS));
      // The close was decided as the trailers were framed, before the call completed.
      assertTrue("waiting for the socket", onLoop(conn,
          () -> !conn.closed && conn.writer.isBlocked() && conn.closing.isDraining()));
      assertFalse(server.awaitTermination(0, TimeUnit.SECONDS));

      timer.advance(ConnectionClosing.DRAIN_TIMEOUT_NANOS - 1, TimeUnit.NANOSECONDS);
      assertTrue("not before the timeout", onLoop(conn, () -> conn.closing.isDraining()));
      timer.advance(1, TimeUnit.NANOSECONDS);
      assertTrue("the connection closed, so the server terminated",
          server.awaitTermination(10, TimeUnit.SECONDS));
      LeanLeases.assertAllReturned(); // the unsent tail's leases too
    }
  }

  /**
   * Handshake, request, the response but its {@link #TAIL} read; then the graceful shutdown up to
   * the second GOAWAY (the stream still open). Returns the server's connection.
   */
  private ServerConnection startAndShutDown(RawHttp2Client c) throws Exception {
    c.handshakeWithClosedWindows(WAIT);
    ServerConnection conn = onlyConnection();
    // A small send buffer (no autotuning): the tail's batch cannot fit in the kernel.
    onLoop(conn, () -> {
      try {
        conn.socket.channel.setOption(StandardSocketOptions.SO_SNDBUF, 8 * 1024);
      } catch (java.io.IOException e) {
        throw new AssertionError(e);
      }
      return null;
    });
    c.sendRequest(1, STREAMING, new byte[] {1});
    assertTrue(handlerDone.await(WAIT.toSeconds(), TimeUnit.SECONDS));
    onLoop(conn, () -> null); // the handler's writes have reached the writer
    c.send(RawFrames.windowUpdate(0, TOTAL), RawFrames.windowUpdate(1, TOTAL - TAIL));
    long data = 0;
    while (data < TOTAL - TAIL) {
      Frame f = c.awaitFrame(x -> x.type == FrameType.DATA, WAIT);
      assertEquals(1, f.streamId);
      data += f.payload.length;
    }
    assertEquals(TOTAL - TAIL, data);

    server.shutdown();
    Frame first = c.awaitGoAway();
    assertEquals(Integer.MAX_VALUE, first.lastStreamId());
    Frame ping = c.awaitFrame(f -> f.type == FrameType.PING && !f.ack(), WAIT);
    c.send(RawFrames.frame(FrameType.PING, FrameType.ACK, 0, ping.payload));
    Frame second = c.awaitGoAway();
    assertEquals(1, second.lastStreamId());
    assertEquals(1L, callClosed.getCount());
    return conn;
  }

  private ServerConnection onlyConnection() {
    ServerConnection found = null;
    for (Http2Connection c : builder.connectionStats().openConnections()) {
      assertEquals("one connection", null, found);
      found = (ServerConnection) c;
    }
    assertNotNull(found);
    return found;
  }

  private static <T> T onLoop(Http2Connection conn, Supplier<T> s) throws Exception {
    CompletableFuture<T> f = new CompletableFuture<>();
    conn.loop.execute(() -> {
      try {
        f.complete(s.get());
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
  }
}
