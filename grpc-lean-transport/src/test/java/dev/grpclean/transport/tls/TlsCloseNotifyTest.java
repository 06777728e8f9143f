package dev.grpclean.transport.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanTransportStats;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.RecordProtector;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.TlsServerCredentials;
import io.grpc.TlsServerCredentials.ClientAuth;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;

/**
 * A graceful close of a lean TLS connection ends with close_notify after the GOAWAY: the peer here
 * is the transport's own server handshaker and record protector driven over a blocking socket,
 * so the test sees exactly what the client sent and whether its TLS stream was closed.
 */
@RunWith(Parameterized.class)
public class TlsCloseNotifyTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  /** An empty SETTINGS frame (RFC 9113 §6.5), the least a server must send to be ready. */
  private static final byte[] EMPTY_SETTINGS = {0, 0, 0, 4, 0, 0, 0, 0, 0};
  private static final int GOAWAY = 7;

  @Parameters(name = "{0}")
  public static List<Object[]> providers() {
    return TlsProviders.both();
  }

  @Parameter public String provider;

  @Before
  public void selectProvider() {
    TlsProviders.select(provider);
  }

  @After
  public void resetProvider() {
    TlsProviders.reset();
  }

  @Test
  public void gracefulCloseSendsCloseNotifyAfterGoAway() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      ManagedChannel channel = LeanChannelBuilder.forAddress("localhost",
              listener.getLocalPort(), TlsTestCerts.client(false))
          .overrideAuthority(TlsTestCerts.AUTHORITY).build();
      channel.getState(true);
      Handshaker server = TlsHandshakers.forServer(
          (TlsServerCredentials) TlsTestCerts.server(ClientAuth.NONE)).newHandshaker(null, null);
      RecordProtector protector = null;
      try (Socket socket = listener.accept()) {
        socket.setSoTimeout(20_000);
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        ByteBuffer inbound = ByteBuffer.allocate(256 << 10);
        ByteBuffer flight = ByteBuffer.allocate(server.maxOutputBytes());
        server.start(flight);
        send(out, flight);
        byte[] chunk = new byte[16 << 10];
        boolean done = false;
        while (!done) {
          int n = in.read(chunk);
          assertTrue("client closed during the handshake", n > 0);
          inbound.put(chunk, 0, n).flip();
          flight.clear();
          done = server.onBytes(inbound, flight);
          send(out, flight);
          inbound.compact();
        }
        protector = server.protector();
        ByteBuffer sealed = ByteBuffer.allocate(protector.maxProtectedBytes(9));
        protector.protect(ByteBuffer.wrap(EMPTY_SETTINGS), sealed);
        send(out, sealed);

        ByteArrayOutputStream plaintext = new ByteArrayOutputStream();
        RecordProtector.PlaintextSink sink = p -> {
          byte[] b = new byte[p.remaining()];
          p.get(b);
          plaintext.write(b, 0, b.length);
        };
        inbound.flip();
        protector.unprotect(inbound, sink);
        inbound.compact();
        // Ready once our SETTINGS arrived; then a graceful shutdown.
        while (channel.getState(false) != ConnectivityState.READY) {
          int n = in.read(chunk);
          assertTrue("client closed before becoming ready", n > 0);
          inbound.put(chunk, 0, n).flip();
          protector.unprotect(inbound, sink);
          inbound.compact();
        }
        channel.shutdown();
        for (int n; (n = in.read(chunk)) >= 0; ) {
          inbound.put(chunk, 0, n).flip();
          protector.unprotect(inbound, sink);
          inbound.compact();
        }
        assertTrue("no GOAWAY before the close", hasFrame(plaintext.toByteArray(), GOAWAY));
        assertTrue("the client closed without close_notify",
            ((TlsRecordProtector) protector).inboundClosed());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        if (protector != null) {
          protector.release();
        }
        server.close();
      }
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (LeanTransportStats.leasedBytes() != 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertEquals(LeanTransportStats.describe(), 0, LeanTransportStats.leasedBytes());
  }

  private static void send(OutputStream out, ByteBuffer written) throws Exception {
    out.write(written.array(), 0, written.position());
    out.flush();
    written.clear();
  }

  /** Whether the HTTP/2 frames in {@code bytes} (after the client preface) include {@code type}. */
  private static boolean hasFrame(byte[] bytes, int type) {
    int at = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    while (at + 9 <= bytes.length) {
      int length = (bytes[at] & 0xff) << 16 | (bytes[at + 1] & 0xff) << 8 | (bytes[at + 2] & 0xff);
      if ((bytes[at + 3] & 0xff) == type) {
        return true;
      }
      at += 9 + length;
    }
    return false;
  }
}
