package dev.grpclean.alts.handshake;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.AltsLikePeer;
import dev.grpclean.alts.X509Fixtures;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Handshake version 2, the default: identity, signature and MAC travel encrypted, so neither
 * side's key nor certificate appears on the wire; version 1 peers are still served; a lowered
 * offer and tampering with either part fail.
 */
public class HandshakeV2Test {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static AltsLikeIdentity clientRaw;
  private static AltsLikeIdentity serverRaw;
  private static AltsLikeIdentity clientCert;
  private static AltsLikeIdentity serverCert;
  private static List<X509Certificate> ca;

  @BeforeClass
  public static void identities() throws Exception {
    clientRaw = AltsLikeIdentity.generate();
    serverRaw = AltsLikeIdentity.generate();
    clientCert = X509Fixtures.identity("client");
    serverCert = X509Fixtures.identity("server");
    ca = X509Fixtures.ca();
  }

  private static HandshakeOptions.Builder raw(AltsLikeIdentity own, AltsLikeIdentity peer) {
    return HandshakeOptions.newBuilder().identity(own).acceptPeers(List.of(peer.publicKey()));
  }

  private static HandshakeOptions.Builder cert(AltsLikeIdentity own) {
    return HandshakeOptions.newBuilder().identity(own).trustCertificates(ca);
  }

  @Test
  public void identitiesAreNotOnTheWireInVersion2AndAreInVersion1() throws Exception {
    byte[] clientKey = clientRaw.rawPublicKey();
    byte[] serverKey = serverRaw.rawPublicKey();
    byte[] clientLeaf = clientCert.certificateChain().get(0).getEncoded();
    byte[] serverLeaf = serverCert.certificateChain().get(0).getEncoded();
    // Version 2 (the default), raw keys and certificates.
    byte[][] wire = run(new HandshakeTest.Session(raw(clientRaw, serverRaw).build(),
        raw(serverRaw, clientRaw).build()));
    assertEquals(Messages.VERSION_2, Messages.getShortLe(wire[1], Messages.HEADER_BYTES));
    assertFalse(contains(wire[1], serverKey));
    assertFalse(contains(wire[2], clientKey));
    wire = run(new HandshakeTest.Session(cert(clientCert).build(), cert(serverCert).build()));
    assertFalse(contains(wire[1], serverLeaf));
    assertFalse(contains(wire[2], clientLeaf));
    assertFalse(contains(wire[1], "server.test".getBytes(StandardCharsets.US_ASCII)));
    // Version 1, the control: both in clear.
    wire = run(new HandshakeTest.Session(
        raw(clientRaw, serverRaw).handshakeVersions(1, 1).build(),
        raw(serverRaw, clientRaw).build()));
    assertEquals(Messages.VERSION_1, Messages.getShortLe(wire[1], Messages.HEADER_BYTES));
    assertTrue(contains(wire[1], serverKey));
    assertTrue(contains(wire[2], clientKey));
  }

  @Test
  public void version1PeersAreStillServed() throws Exception {
    for (boolean oldClient : new boolean[] {true, false}) {
      HandshakeOptions.Builder client = cert(clientCert);
      HandshakeOptions.Builder server = cert(serverCert);
      (oldClient ? client : server).handshakeVersions(1, 1);
      HandshakeTest.Session s = new HandshakeTest.Session(client.build(), server.build());
      byte[][] wire = run(s);
      assertEquals(Messages.VERSION_1, Messages.getShortLe(wire[1], Messages.HEADER_BYTES));
      assertEquals(clientCert.id(),
          s.server.attributes().get(AltsLikePeer.PEER_IDENTITY_KEY).id());
    }
  }

  @Test
  public void minimumVersion2RefusesVersion1Peers() throws Exception {
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> new HandshakeTest.Session(raw(clientRaw, serverRaw).minHandshakeVersion(2).build(),
            raw(serverRaw, clientRaw).handshakeVersions(1, 1).build()).run(Integer.MAX_VALUE));
    assertEquals("no common handshake version: the client offers [2, 2], the server speaks"
        + " [1, 1]", e.getMessage());
    e = assertThrows(HandshakeException.class,
        () -> new HandshakeTest.Session(raw(clientRaw, serverRaw).handshakeVersions(1, 1).build(),
            raw(serverRaw, clientRaw).minHandshakeVersion(2).build()).run(Integer.MAX_VALUE));
    assertEquals("no common handshake version: the client offers [1, 1], the server speaks"
        + " [2, 2]", e.getMessage());
    run(new HandshakeTest.Session(raw(clientRaw, serverRaw).minHandshakeVersion(2).build(),
        raw(serverRaw, clientRaw).minHandshakeVersion(2).build()));
    assertThrows(IllegalArgumentException.class,
        () -> HandshakeOptions.newBuilder().minHandshakeVersion(3));
  }

  @Test
  public void aLoweredOfferFailsAtTheClient() throws Exception {
    HandshakeTest.Session s = new HandshakeTest.Session(raw(clientRaw, serverRaw).build(),
        raw(serverRaw, clientRaw).build());
    byte[] clientInit = s.start();
    // ClientInit's max version (after length, type, magic and min version) lowered to 1.
    int maxVersionAt = Messages.HEADER_BYTES + 4 + 2;
    assertEquals(Messages.VERSION_2, Messages.getShortLe(clientInit, maxVersionAt));
    clientInit[maxVersionAt] = Messages.VERSION_1;
    byte[] serverInit = s.deliver(s.server, clientInit, Integer.MAX_VALUE);
    assertEquals(Messages.VERSION_1, Messages.getShortLe(serverInit, Messages.HEADER_BYTES));
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> s.deliver(s.client, serverInit, Integer.MAX_VALUE));
    assertEquals("server's handshake signature does not verify for " + serverRaw.id(),
        e.getMessage());
  }

  @Test
  public void tamperingWithTheClearOrTheSealedPartFails() throws Exception {
    String opens = "'s encrypted identity does not authenticate: the handshake was tampered with"
        + " or the key exchange failed";
    // ServerInit: the record size (clear, authenticated) and a byte of the sealed part.
    for (int at : new int[] {Messages.HEADER_BYTES + 2 + 32 + 1, Messages.SERVER_INIT_CLEAR_BYTES
        + 3}) {
      HandshakeTest.Session s = new HandshakeTest.Session(raw(clientRaw, serverRaw).build(),
          raw(serverRaw, clientRaw).build());
      byte[] serverInit = s.deliver(s.server, s.start(), Integer.MAX_VALUE);
      serverInit[at] ^= 1;
      assertEquals("ServerInit" + opens, assertThrows(HandshakeException.class,
          () -> s.deliver(s.client, serverInit, Integer.MAX_VALUE)).getMessage());
    }
    HandshakeTest.Session s = new HandshakeTest.Session(raw(clientRaw, serverRaw).build(),
        raw(serverRaw, clientRaw).build());
    byte[] finished = s.deliver(s.client, s.deliver(s.server, s.start(), Integer.MAX_VALUE),
        Integer.MAX_VALUE);
    finished[finished.length - 1] ^= 1;
    assertEquals("ClientFinished" + opens, assertThrows(HandshakeException.class,
        () -> s.deliver(s.server, finished, Integer.MAX_VALUE)).getMessage());
  }

  @Test
  public void policyChecksStillPrecedeCertificateParsing() throws Exception {
    // A real certificate client against a server that trusts no roots: refused by type once the
    // identity part opens, before its certificate is parsed.
    HandshakeTest.Session s = new HandshakeTest.Session(
        cert(clientCert).acceptPeers(List.of(serverRaw.publicKey())).build(),
        raw(serverRaw, clientRaw).build());
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> s.run(Integer.MAX_VALUE));
    assertEquals("client presented an X.509 certificate identity, but local policy trusts no"
        + " certificates (call trustCertificates)", e.getMessage());
  }

  /** Runs the handshake; returns the wire ClientInit, ServerInit and ClientFinished. */
  private static byte[][] run(HandshakeTest.Session s) throws Exception {
    byte[] clientInit = s.start();
    byte[] serverInit = s.deliver(s.server, clientInit, 5);
    byte[] finished = s.deliver(s.client, serverInit, 7);
    s.deliver(s.server, finished, Integer.MAX_VALUE);
    assertTrue(s.clientDone && s.serverDone);
    HandshakeTest.checkRecords(s);
    return new byte[][] {clientInit, serverInit, finished};
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
