package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.RawHttp2Client.Frame;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Settings;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Malformed and hostile HTTP/2 input against one lean server, each case on its own raw
 * connection: the server must answer with the exact error RFC 9113 asks for, close the connection
 * on connection errors, keep it on stream errors, keep serving other clients, and return every
 * buffer lease.
 */
public class BadInputTest {
  private static final Logger log = Logger.getLogger(BadInputTest.class.getName());
  /** Bytes; the server's header list limit, well under the 20 KiB header the test sends. */
  private static final int MAX_METADATA_BYTES = 8 * 1024;
  /** Bytes; the server's stream and connection receive windows: the RFC default. */
  private static final int WINDOW_BYTES = 65535;
  private static final int OVERSIZED_HEADER_BYTES = 20 * 1024;
  private static final int FLOOD_DATA_BYTES = 70_000;

  /** A client-streaming method whose handler never requests a message, so nothing is consumed. */
  private static final MethodDescriptor<byte[], byte[]> SINK =
      Echo.UNARY.toBuilder()
          .setType(MethodDescriptor.MethodType.CLIENT_STREAMING)
          .setFullMethodName("test.Stall/Sink")
          .build();

  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static Server server;

  @BeforeClass
  public static void startServer() throws IOException {
    server = LeanServerBuilder.forPort(0)
        .maxInboundMetadataSize(MAX_METADATA_BYTES)
        .flowControlWindow(WINDOW_BYTES)
        .addService(Echo.service())
        .addService(ServerServiceDefinition.builder("test.Stall")
            .addMethod(SINK, (call, headers) -> new ServerCall.Listener<byte[]>() {})
            .build())
        .build()
        .start();
  }

  @AfterClass
  public static void stopServer() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  /** After every case: the server still answers a normal client, and no lease is left. */
  @After
  public void serverStillServesAndLeasesReturn() throws Exception {
    assertEchoWorks(server);
  }

  @Test
  public void garbagePrefaceIsProtocolError() throws IOException {
    byte[] garbage = new byte[64];
    new Random(42).nextBytes(garbage);
    garbage[0] = (byte) ~'P'; // never a correct first preface byte
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort())) {
      c.send(garbage);
      assertGoAwayThenClosed(c, ErrorCode.PROTOCOL_ERROR, 0);
    }
  }

  @Test
  public void http1RequestIsProtocolError() throws IOException {
    byte[] request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort())) {
      c.send(request);
      Frame goAway = assertGoAwayThenClosed(c, ErrorCode.PROTOCOL_ERROR, 0);
      log.info("HTTP/1.1 request answered with " + goAway);
    }
  }

  @Test
  public void frameLargerThanMaxFrameSizeIsFrameSizeError() throws IOException {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(c.headers(1, RawFrames.grpcRequestHeaders(SINK.getFullMethodName()), false),
          RawFrames.data(1, new byte[RawFrames.MAX_FRAME_BYTES + 1], false));
      assertGoAwayThenClosed(c, ErrorCode.FRAME_SIZE_ERROR, 1);
    }
  }

  @Test
  public void oversizedHeaderListFailsOnlyItsStream() throws IOException {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      char[] big = new char[OVERSIZED_HEADER_BYTES];
      Arrays.fill(big, 'x');
      Http2Headers tooBig = RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName())
          .add("x-big", new String(big));
      byte[] block = c.headerBlock(1, tooBig);
      // 4 KiB fragments: one HEADERS plus several CONTINUATION frames.
      c.send(RawFrames.headerFrames(1, block, false, 4096));

      Frame answer = c.awaitStreamAnswer(1);
      log.info("header list over the limit answered with " + answer);
      if (answer.type == FrameType.HEADERS) {
        // grpc-netty's answer: HTTP 431, which a gRPC client reads as RESOURCE_EXHAUSTED.
        assertEquals(answer.toString(), "431", answer.header(":status"));
        assertEquals(answer.toString(), "8", answer.header("grpc-status"));
      } else {
        assertEquals(FrameType.RST_STREAM, answer.type);
        assertNotEquals(ErrorCode.NO_ERROR, answer.errorCode());
      }

      // Same connection, HPACK state intact: a valid request on the next stream still works.
      assertEchoOnRawConnection(c, 3, "after the big header".getBytes(StandardCharsets.UTF_8));
      for (Frame f : c.received()) {
        assertNotEquals("connection must survive: " + c.received(), FrameType.GOAWAY, f.type);
      }
    }
  }

  @Test
  public void dataBeyondFlowControlWindowIsFlowControlError() throws IOException {
    byte[] message = new byte[FLOOD_DATA_BYTES - 5];
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      // The handler never requests a message, so the server returns no window: 70,000 bytes
      // overrun the 65,535-byte stream and connection windows on the fourth 16 KiB frame.
      c.send(c.headers(1, RawFrames.grpcRequestHeaders(SINK.getFullMethodName()), false),
          RawFrames.dataFrames(1, RawFrames.grpcMessage(message), false));
      Frame error = c.awaitFrame(f -> f.type == FrameType.GOAWAY
          || (f.type == FrameType.RST_STREAM && f.streamId == 1), RawHttp2Client.DEFAULT_WAIT);
      log.info("flow-control overrun answered with " + error);
      // RFC 9113 §6.9.1: both windows were exceeded; either error form is allowed.
      assertEquals(error.toString(), ErrorCode.FLOW_CONTROL_ERROR, error.errorCode());
      if (error.type == FrameType.GOAWAY) {
        c.awaitClosed(RawHttp2Client.DEFAULT_WAIT);
      }
    }
  }

  @Test
  public void continuationForAnotherStreamIsProtocolError() throws IOException {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      byte[] block = c.headerBlock(1,
          RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName()));
      int half = block.length / 2;
      c.send(
          RawFrames.frame(FrameType.HEADERS, 0, 1, Arrays.copyOfRange(block, 0, half)),
          RawFrames.frame(FrameType.CONTINUATION, FrameType.END_HEADERS, 3,
              Arrays.copyOfRange(block, half, block.length)));
      assertGoAwayThenClosed(c, ErrorCode.PROTOCOL_ERROR, 0);
    }
  }

  @Test
  public void dataOnStreamZeroIsProtocolError() throws IOException {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(RawFrames.data(0, new byte[10], false));
      assertGoAwayThenClosed(c, ErrorCode.PROTOCOL_ERROR, 0);
    }
  }

  @Test
  public void evenNumberedClientStreamIsProtocolError() throws IOException {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(c.headers(2, RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName()),
          true));
      assertGoAwayThenClosed(c, ErrorCode.PROTOCOL_ERROR, 0);
    }
  }

  @Test
  public void connectionWindowOverflowIsFlowControlError() throws IOException {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      // The server's send window is 65,535; adding 2^31-1 passes the 2^31-1 maximum.
      c.send(RawFrames.windowUpdate(0, Integer.MAX_VALUE));
      assertGoAwayThenClosed(c, ErrorCode.FLOW_CONTROL_ERROR, 0);
    }
  }

  @Test
  public void invalidInitialWindowSizeIsFlowControlError() throws IOException {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(RawFrames.settings(Settings.INITIAL_WINDOW_SIZE, 1L << 31));
      assertGoAwayThenClosed(c, ErrorCode.FLOW_CONTROL_ERROR, 0);
    }
  }

  @Test
  public void rstStreamOnIdleStreamIsProtocolError() throws IOException {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(RawFrames.rstStream(1, ErrorCode.CANCEL));
      assertGoAwayThenClosed(c, ErrorCode.PROTOCOL_ERROR, 0);
    }
  }

  @Test
  public void silentPeerIsClosedAfterHandshakeTimeout() throws Exception {
    Server timed = LeanServerBuilder.forPort(0)
        .handshakeTimeout(500, TimeUnit.MILLISECONDS)
        .addService(Echo.service())
        .build()
        .start();
    try {
      long start = System.nanoTime();
      try (RawHttp2Client c = RawHttp2Client.connect(timed.getPort())) {
        c.awaitClosed(RawHttp2Client.DEFAULT_WAIT);
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        log.info("silent peer closed after " + elapsedMillis + " ms; frames " + c.received());
        assertTrue("closed too early: " + elapsedMillis + " ms", elapsedMillis >= 450);
        assertTrue(c.closedByPeer());
      }
      assertEchoWorks(timed);
    } finally {
      timed.shutdownNow();
      timed.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Expects a GOAWAY with {@code code} (other frames may precede it), then the close. */
  private static Frame assertGoAwayThenClosed(RawHttp2Client c, ErrorCode code, int lastStreamId)
      throws IOException {
    Frame goAway = c.awaitGoAway();
    assertEquals(goAway.toString(), code, goAway.errorCode());
    assertEquals(goAway.toString(), lastStreamId, goAway.lastStreamId());
    c.awaitClosed(RawHttp2Client.DEFAULT_WAIT);
    assertTrue(c.closedByPeer());
    return goAway;
  }

  /** A valid unary echo on {@code streamId} of an established raw connection. */
  static void assertEchoOnRawConnection(RawHttp2Client c, int streamId, byte[] message)
      throws IOException {
    c.send(c.headers(streamId,
            RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName()), false),
        RawFrames.data(streamId, RawFrames.grpcMessage(message), true));
    assertEchoResponse(c.awaitStreamEnd(streamId), message);
  }

  /** HEADERS :status 200, DATA with the echoed message, trailers with grpc-status 0. */
  static void assertEchoResponse(List<Frame> frames, byte[] message) {
    String all = frames.toString();
    assertTrue(all, frames.size() >= 3);
    Frame headers = frames.get(0);
    assertEquals(all, FrameType.HEADERS, headers.type);
    assertEquals(all, "200", headers.header(":status"));
    assertEquals(all, "application/grpc", headers.header("content-type"));
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    for (Frame f : frames.subList(1, frames.size() - 1)) {
      assertEquals(all, FrameType.DATA, f.type);
      body.writeBytes(f.payload);
    }
    assertArrayEquals(all, RawFrames.grpcMessage(message), body.toByteArray());
    Frame trailers = frames.get(frames.size() - 1);
    assertEquals(all, FrameType.HEADERS, trailers.type);
    assertTrue(all, trailers.endStream());
    assertEquals(all, "0", trailers.header("grpc-status"));
  }

  /** A normal lean client on its own channel gets an echo; afterwards no lease is left. */
  static void assertEchoWorks(Server target) throws InterruptedException {
    ManagedChannel channel = LeanChannelBuilder.forAddress("127.0.0.1", target.getPort())
        .usePlaintext().build();
    try {
      byte[] req = "still serving".getBytes(StandardCharsets.UTF_8);
      byte[] resp = ClientCalls.blockingUnaryCall(channel, Echo.UNARY,
          CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), req);
      assertArrayEquals(req, resp);
      // The channel is idle but open: it too must hold no lease.
      LeanLeases.assertAllReturned();
    } finally {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
    LeanLeases.assertAllReturned();
  }
}
