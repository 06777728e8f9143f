package dev.grpclean.alts;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.testing.Echo;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * A flood of unauthenticated handshakes against a server with a small cap on handshakes in
 * progress: those beyond the cap are closed before any handshake work, established connections
 * keep being served throughout, and slots come back when the stalled handshakes go away.
 */
public class AltsLikeHandshakeFloodTest {
  @Rule public final Timeout timeout = Timeout.seconds(120);

  private static final int CAP = 4;
  private static final int READ_TIMEOUT_MILLIS = 10_000;

  private final AltsLikeIdentity serverId = EchoFixture.generate();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<Socket> sockets = new ArrayList<>();
  private AltsLikeChannelCredentials clientCreds;
  private Server server;

  @Before
  public void start() throws IOException {
    server = EchoFixture.startEchoServer(AltsLikeServerCredentials.newBuilder()
        .identity(serverId).acceptAnyPeer().maxConcurrentHandshakes(CAP).build(),
        new Echo.Recorder());
    clientCreds = AltsLikeChannelCredentials.newBuilder().identity(EchoFixture.generate())
        .acceptPeers(serverId.publicKey()).build();
  }

  @After
  public void stop() throws Exception {
    for (Socket s : sockets) {
      s.close();
    }
    EchoFixture.shutDownAndAssertLeasesReturned(channels, server);
  }

  @Test
  public void floodBeyondTheCapIsRefusedWhileEstablishedConnectionsAreServed() throws Exception {
    ManagedChannel established = channel();
    assertEquals(3, Echo.call(established, new byte[3]).length);

    // CAP clients that send ClientInit, get their ServerInit, and then stall.
    List<Socket> stalled = new ArrayList<>();
    for (int i = 0; i < CAP; i++) {
      Socket s = sendClientInit();
      assertTrue("stalled handshake " + i + " got no ServerInit", readServerInit(s));
      stalled.add(s);
    }
    // Every further handshake is closed without a ServerInit.
    for (int i = 0; i < 8; i++) {
      assertEquals("handshake " + i + " beyond the cap was answered", -1,
          firstByteOrEof(sendClientInit()));
    }

    // A flood from another thread (connect, ClientInit, close) while the established connection
    // makes calls: every call completes.
    AtomicInteger floodConnections = new AtomicInteger();
    AtomicReference<Throwable> floodFailure = new AtomicReference<>();
    Thread flood = new Thread(() -> {
      try {
        for (int i = 0; i < 200; i++) {
          try (Socket s = sendClientInit()) {
            floodConnections.incrementAndGet();
          }
        }
      } catch (Throwable t) {
        floodFailure.set(t);
      }
    }, "handshake-flood");
    flood.start();
    byte[] request = {1, 2, 3, 4, 5};
    int calls = 0;
    while (flood.isAlive() || calls < 50) {
      assertArrayEquals(request, Echo.call(established, request));
      calls++;
    }
    flood.join();
    assertEquals(null, floodFailure.get());
    assertEquals(200, floodConnections.get());
    assertTrue(calls >= 50);

    // When the stalled handshakes go away, their slots come back: a new channel connects.
    for (Socket s : stalled) {
      s.close();
    }
    ManagedChannel later = channel();
    assertArrayEquals(request, ClientCalls.blockingUnaryCall(later, Echo.UNARY,
        CallOptions.DEFAULT.withWaitForReady().withDeadlineAfter(30, TimeUnit.SECONDS),
        request));
  }

  private ManagedChannel channel() {
    ManagedChannel c =
        LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(), clientCreds).build();
    channels.add(c);
    return c;
  }

  /** A socket that has sent a valid ClientInit and nothing more. */
  private Socket sendClientInit() throws Exception {
    Socket s = new Socket("127.0.0.1", server.getPort());
    synchronized (sockets) {
      sockets.add(s);
    }
    s.setSoTimeout(READ_TIMEOUT_MILLIS);
    Handshaker client = clientCreds.handshakerFactory(true).newHandshaker("localhost", null);
    ByteBuffer out = ByteBuffer.allocate(client.maxOutputBytes());
    client.start(out);
    client.close();
    OutputStream o = s.getOutputStream();
    o.write(out.array(), 0, out.position());
    o.flush();
    return s;
  }

  /** Reads one whole handshake message; false on EOF first. */
  private static boolean readServerInit(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    byte[] header = in.readNBytes(4);
    if (header.length < 4) {
      return false;
    }
    int length = (header[0] & 0xff) | (header[1] & 0xff) << 8 | (header[2] & 0xff) << 16
        | (header[3] & 0xff) << 24;
    return in.readNBytes(length).length == length;
  }

  /** The first byte the server sends, or -1 if it closes first (a reset counts as a close). */
  private static int firstByteOrEof(Socket s) {
    try {
      return s.getInputStream().read();
    } catch (IOException e) {
      assertTrue(e.toString(), e.getMessage() != null
          && e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("reset"));
      return -1;
    }
  }
}
