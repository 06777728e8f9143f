package dev.grpclean.alts;

import static dev.grpclean.alts.EchoFixture.generate;
import static dev.grpclean.alts.EchoFixture.shutDownAndAssertLeasesReturned;
import static dev.grpclean.alts.EchoFixture.startEchoServer;
import static dev.grpclean.transport.testing.Echo.call;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.Attributes;
import io.grpc.ManagedChannel;
import io.grpc.SecurityLevel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.internal.GrpcAttributes;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The lean transport end to end behind the ALTS-like handshake and record layer. */
public class AltsLikeTransportTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private final AltsLikeIdentity serverId = generate();
  private final AltsLikeIdentity clientId = generate();
  private final Echo.Recorder echo = new Echo.Recorder();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private Server server;

  @Before
  public void startServer() throws IOException {
    AltsLikeServerCredentials creds = AltsLikeServerCredentials.newBuilder()
        .identity(serverId).acceptPeers(clientId.publicKey()).build();
    server = startEchoServer(creds, echo);
  }

  @After
  public void tearDown() throws Exception {
    shutDownAndAssertLeasesReturned(channels, server);
  }

  private ManagedChannel channel(AltsLikeIdentity identity, java.security.PublicKey accept) {
    ManagedChannel c = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(),
            AltsLikeChannelCredentials.newBuilder().identity(identity).acceptPeers(accept)
                .build())
        .maxInboundMessageSize(16 << 20)
        .build();
    channels.add(c);
    return c;
  }

  @Test
  public void echoesSmallAndLargeMessagesAndReportsThePeer() {
    ManagedChannel c = channel(clientId, serverId.publicKey());
    Random random = new Random(1);
    for (int size : new int[] {0, 1, 4072, 4073, 100_000, 10 << 20}) {
      byte[] req = new byte[size];
      random.nextBytes(req);
      assertArrayEquals("size " + size, req, call(c, req));
    }
    Attributes attrs = echo.lastCallAttributes.get();
    assertEquals(SecurityLevel.PRIVACY_AND_INTEGRITY,
        attrs.get(GrpcAttributes.ATTR_SECURITY_LEVEL));
    AltsLikePeer peer = attrs.get(AltsLikePeer.PEER_IDENTITY_KEY);
    assertNotNull("peer identity attribute", peer);
    assertEquals(clientId.id(), peer.id());
  }

  @Test
  public void idleEncryptedConnectionHoldsNoLeasedBytes() {
    ManagedChannel c = channel(clientId, serverId.publicKey());
    call(c, new byte[1000]);
    // The channel and the connection stay open: only keys and counters remain.
    LeanLeases.assertNoneLeased();
  }

  @Test
  public void clientRejectsAnUnexpectedServerIdentity() {
    ManagedChannel c = channel(clientId, generate().publicKey());
    try {
      call(c, new byte[10]);
      fail("expected UNAVAILABLE");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
      assertTrue(e.getStatus().toString(),
          String.valueOf(e.getStatus().getDescription()).contains("handshake"));
    }
  }

  @Test
  public void serverRejectsAnUnacceptedClientAndKeepsServing() {
    ManagedChannel stranger = channel(generate(), serverId.publicKey());
    try {
      call(stranger, new byte[10]);
      fail("expected UNAVAILABLE");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    }
    assertEquals(3, call(channel(clientId, serverId.publicKey()), new byte[3]).length);
  }

  @Test
  public void garbageInsteadOfAHandshakeClosesOnlyThatConnection() throws Exception {
    try (Socket s = new Socket("127.0.0.1", server.getPort())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      // The server answers nothing meaningful and closes: read until EOF (or a reset).
      try {
        while (in.read(buf) >= 0) {
          // drain
        }
      } catch (java.net.SocketException reset) {
        // a reset is a close too
      }
    }
    assertEquals(5, call(channel(clientId, serverId.publicKey()), new byte[5]).length);
  }
}
