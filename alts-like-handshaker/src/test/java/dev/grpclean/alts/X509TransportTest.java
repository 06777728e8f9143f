package dev.grpclean.alts;

import static dev.grpclean.alts.EchoFixture.shutDownAndAssertLeasesReturned;
import static dev.grpclean.alts.EchoFixture.startEchoServer;
import static dev.grpclean.transport.testing.Echo.call;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.testing.Echo;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.SecurityLevel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.internal.GrpcAttributes;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The lean transport end to end with X.509 certificate identities. */
public class X509TransportTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private final AltsLikeIdentity serverId = fixture("server");
  private final AltsLikeIdentity clientId = fixture("client");
  private final Echo.Recorder echo = new Echo.Recorder();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private Server server;

  @Before
  public void startServer() throws IOException {
    AltsLikeServerCredentials creds;
    try {
      creds = AltsLikeServerCredentials.newBuilder()
          .certificateIdentityFromPemFiles(X509Fixtures.path("server.pem"),
              X509Fixtures.path("server.key"))
          .trustCertificates(X509Fixtures.ca())
          .build();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    server = startEchoServer(creds, echo);
  }

  @After
  public void tearDown() throws Exception {
    shutDownAndAssertLeasesReturned(channels, server);
  }

  private ManagedChannel channel(AltsLikeIdentity identity) throws Exception {
    ManagedChannel c = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(),
            AltsLikeChannelCredentials.newBuilder()
                .certificateIdentity(identity.certificateChain(), identity.privateKey())
                .trustCertificates(X509Fixtures.ca())
                .peerVerifier(p -> p.id().startsWith("x509:CN=server,"))
                .build())
        .maxInboundMessageSize(16 << 20)
        .build();
    channels.add(c);
    return c;
  }

  @Test
  public void perCallAuthorityMustBeNamedByTheServerCertificate() throws Exception {
    ManagedChannel c = channel(clientId);
    byte[] req = {1, 2};
    assertArrayEquals(req, ClientCalls.blockingUnaryCall(c, Echo.UNARY,
        CallOptions.DEFAULT.withAuthority("server.test:443")
            .withDeadlineAfter(20, TimeUnit.SECONDS), req));
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> ClientCalls.blockingUnaryCall(c, Echo.UNARY,
            CallOptions.DEFAULT.withAuthority("other.test:443")
                .withDeadlineAfter(20, TimeUnit.SECONDS), req));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertEquals("per-call authority 'other.test:443' is not valid for the ALTS-like server:"
        + " server certificate " + serverId.id() + " is not valid for other.test: certificate"
        + " subject alternative names [DNS:localhost, DNS:server.test, IP:127.0.0.1,"
        + " IP:0:0:0:0:0:0:0:1] do not match other.test", e.getStatus().getDescription());
  }

  @Test
  public void echoesAndTheServerCallSeesTheClientCertificate() throws Exception {
    ManagedChannel c = channel(clientId);
    Random random = new Random(1);
    for (int size : new int[] {0, 1, 4073, 100_000, 1 << 20}) {
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
    assertEquals(clientId.certificateChain(), peer.certificateChain());
    assertEquals("CN=client,O=grpc-lean test",
        peer.certificateChain().get(0).getSubjectX500Principal().getName());
  }

  @Test
  public void untrustedClientCertificateIsRejectedAndTheServerKeepsServing() throws Exception {
    ManagedChannel stranger = channel(fixture("stranger"));
    try {
      call(stranger, new byte[10]);
      fail("expected UNAVAILABLE");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    }
    assertEquals(3, call(channel(clientId), new byte[3]).length);
  }

  @Test
  public void clientRejectsAServerFromAnotherCa() throws Exception {
    ManagedChannel c = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(),
            AltsLikeChannelCredentials.newBuilder()
                .certificateIdentity(clientId.certificateChain(), clientId.privateKey())
                .trustCertificates(List.of(X509Fixtures.certificate("other-ca")))
                .build())
        .build();
    channels.add(c);
    try {
      call(c, new byte[10]);
      fail("expected UNAVAILABLE");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
      assertTrue(e.getStatus().toString(),
          String.valueOf(e.getStatus().getDescription()).contains("not trusted"));
    }
  }

  private static AltsLikeIdentity fixture(String name) {
    try {
      return X509Fixtures.identity(name);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
