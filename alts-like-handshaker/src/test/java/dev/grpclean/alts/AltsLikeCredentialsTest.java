package dev.grpclean.alts;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.alts.handshake.AltsLikeHandshakerFactory;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.HandshakerCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class AltsLikeCredentialsTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private static AltsLikeIdentity clientId;
  private static AltsLikeIdentity serverId;

  @BeforeClass
  public static void identities() throws Exception {
    clientId = AltsLikeIdentity.generate();
    serverId = AltsLikeIdentity.generate();
  }

  @Test
  public void buildersRequireIdentityAndPeerPolicy() {
    IllegalStateException noIdentity = assertThrows(IllegalStateException.class,
        () -> AltsLikeServerCredentials.newBuilder().acceptAnyPeer().build());
    assertEquals("an identity (Ed25519 key pair or certificate) is required", noIdentity.getMessage());
    IllegalStateException noPolicy = assertThrows(IllegalStateException.class,
        () -> AltsLikeServerCredentials.newBuilder().identity(serverId).build());
    assertEquals("no peer policy: call acceptPeers, peerVerifier, acceptAnyPeer or"
        + " trustCertificates",
        noPolicy.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> AltsLikeChannelCredentials.newBuilder().recordBytes(1000));
  }

  @Test
  public void peerPoliciesAreMutuallyExclusive() throws Exception {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> AltsLikeServerCredentials.newBuilder().acceptPeers(clientId.publicKey())
            .peerVerifier(peer -> true));
    assertEquals("acceptPeers and peerVerifier are mutually exclusive: choose one peer policy",
        e.getMessage());
    e = assertThrows(IllegalStateException.class,
        () -> AltsLikeServerCredentials.newBuilder().acceptAnyPeer()
            .acceptPeers(clientId.publicKey()));
    assertEquals("acceptAnyPeer and acceptPeers are mutually exclusive: choose one peer policy",
        e.getMessage());
    e = assertThrows(IllegalStateException.class,
        () -> AltsLikeChannelCredentials.newBuilder().peerVerifier(peer -> true)
            .acceptAnyServerUnauthenticated());
    assertEquals("peerVerifier and acceptAnyServerUnauthenticated are mutually exclusive: choose"
        + " one peer policy", e.getMessage());
    e = assertThrows(IllegalStateException.class,
        () -> AltsLikeChannelCredentials.newBuilder().peerVerifier(peer -> true)
            .peerVerifier((peer, authority) -> true));
    assertEquals("peerVerifier was already called", e.getMessage());
    // Key lists add up, and trustCertificates combines with any policy.
    AltsLikeChannelCredentials.newBuilder().identity(clientId)
        .acceptPeers(serverId.publicKey()).acceptPeersFor("a.test", List.of(clientId.publicKey()))
        .acceptPeers(clientId.publicKey()).trustCertificates(X509Fixtures.ca()).build();
  }

  @Test
  public void credentialsReduceToHandshakersThatAgree() throws Exception {
    ChannelCredentials channel = AltsLikeChannelCredentials.newBuilder()
        .identity(clientId).acceptPeers(serverId.publicKey()).build();
    ServerCredentials server = AltsLikeServerCredentials.newBuilder()
        .identity(serverId).peerVerifier(peer -> peer.id().equals(clientId.id())).build();
    assertSame(channel, channel.withoutBearerTokens());
    AltsLikeHandshakerFactory clientFactory =
        (AltsLikeHandshakerFactory) ((HandshakerCredentials) channel).handshakerFactory(true);
    assertTrue(clientFactory.client());
    assertEquals("https", clientFactory.scheme());
    Handshaker c = clientFactory.newHandshaker("example:443", null);
    Handshaker s = ((HandshakerCredentials) server).handshakerFactory(false)
        .newHandshaker(null, null);

    ByteBuffer toServer = ByteBuffer.allocate(c.maxOutputBytes());
    c.start(toServer);
    s.start(ByteBuffer.allocate(s.maxOutputBytes()));
    ByteBuffer toClient = ByteBuffer.allocate(s.maxOutputBytes());
    s.onBytes(toServer.flip(), toClient);
    toServer.clear();
    assertTrue(c.onBytes(toClient.flip(), toServer));
    assertTrue(s.onBytes(toServer.flip(), ByteBuffer.allocate(s.maxOutputBytes())));
    assertEquals(clientId.id(), s.attributes().get(AltsLikePeer.PEER_IDENTITY_KEY).id());
    assertEquals(serverId.id(), c.attributes().get(AltsLikePeer.PEER_IDENTITY_KEY).id());
  }
}
