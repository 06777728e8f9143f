package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.Server;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The server's read path on a real socket: many frames in one read, one frame across many reads,
 * and idle connections that must hold no leased buffer.
 */
public class ReadPathTest {
  /** Idle connections held open at once; enough that a per-connection lease would show. */
  private static final int IDLE_CONNECTIONS = 200;

  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static Server server;

  @BeforeClass
  public static void startServer() throws IOException {
    server = LeanServerBuilder.forPort(0).addService(Echo.service()).build().start();
  }

  @AfterClass
  public static void stopServer() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  @After
  public void leasesReturn() {
    LeanLeases.assertAllReturned();
  }

  @Test
  public void wholeRequestInOneWriteIsAnswered() throws IOException {
    byte[] message = payload(100);
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort())) {
      c.send(request(c, message));
      BadInputTest.assertEchoResponse(c.awaitStreamEnd(1), message);
    }
  }

  @Test
  public void requestSentByteByByteIsAnswered() throws IOException {
    byte[] message = payload(100);
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort())) {
      c.sendByteByByte(request(c, message));
      BadInputTest.assertEchoResponse(c.awaitStreamEnd(1), message);
    }
  }

  @Test
  public void idleConnectionsAfterPrefaceLeaseNothing() throws IOException {
    List<RawHttp2Client> clients = new ArrayList<>();
    try {
      for (int i = 0; i < IDLE_CONNECTIONS; i++) {
        RawHttp2Client c = RawHttp2Client.connect(server.getPort());
        clients.add(c);
        c.handshake();
      }
      // The last SETTINGS ack's write lease comes back just after its bytes hit the socket.
      LeanLeases.assertAllReturned();
      assertEquals(LeanTransportStats.describe(), 0, LeanTransportStats.leasedBytes());
      // Still 0 while every connection is open: nothing is held for an idle connection.
      for (RawHttp2Client c : clients) {
        c.send(RawFrames.ping(false, 7));
        c.awaitFrame(f -> f.type == FrameType.PING && f.ack(), RawHttp2Client.DEFAULT_WAIT);
      }
      LeanLeases.assertAllReturned();
      assertEquals(LeanTransportStats.describe(), 0, LeanTransportStats.leasedBytes());
    } finally {
      for (RawHttp2Client c : clients) {
        c.close();
      }
    }
  }

  /**
   * The partial-message bound: a message whose first bytes arrived pins at most twice those
   * bytes. DATA frames of 4,097 bytes are the worst case (each payload's pool class is 8 KiB);
   * the PING after them is answered only once every frame before it is parsed and handed to
   * the stream, whose deframer holds them waiting for the rest of the 1 MiB message.
   */
  @Test
  public void partialMessagePinsAtMostTwiceItsOwnBytes() throws IOException {
    int frameBytes = 4097;
    int frames = 40;
    byte[] message = RawFrames.grpcMessage(payload(1 << 20));
    long inboundBefore = LeanBuffers.inbound().leasedBytes();
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort())) {
      java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
      all.writeBytes(RawFrames.preface());
      all.writeBytes(RawFrames.settings());
      all.writeBytes(c.headers(1,
          RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName()), false));
      for (int i = 0; i < frames; i++) {
        all.writeBytes(RawFrames.data(1,
            java.util.Arrays.copyOfRange(message, i * frameBytes, (i + 1) * frameBytes), false));
      }
      all.writeBytes(RawFrames.ping(false, 42));
      c.send(all.toByteArray());
      c.awaitFrame(f -> f.type == FrameType.PING && f.ack(), RawHttp2Client.DEFAULT_WAIT);

      long received = (long) frameBytes * frames;
      long pinned = LeanBuffers.inbound().leasedBytes() - inboundBefore;
      assertTrue("pinned " + pinned + " for " + received + " bytes received", pinned <= 2 * received);
      assertTrue("the partial message is held, pinned " + pinned, pinned >= received);
    }
  }

  /** Preface, SETTINGS, HEADERS and DATA(END_STREAM) of one unary echo call on stream 1. */
  private static byte[] request(RawHttp2Client c, byte[] message) {
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
    all.writeBytes(RawFrames.preface());
    all.writeBytes(RawFrames.settings());
    all.writeBytes(c.headers(1,
        RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName()), false));
    all.writeBytes(RawFrames.data(1, RawFrames.grpcMessage(message), true));
    return all.toByteArray();
  }

  private static byte[] payload(int size) {
    byte[] b = new byte[size];
    for (int i = 0; i < size; i++) {
      b[i] = (byte) (i * 31 + 7);
    }
    return b;
  }
}
