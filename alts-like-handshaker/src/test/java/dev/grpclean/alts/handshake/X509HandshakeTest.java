package dev.grpclean.alts.handshake;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.AltsLikePeer;
import dev.grpclean.alts.X509Fixtures;
import dev.grpclean.alts.X509Identities;
import dev.grpclean.alts.X509PeerChecks;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** Certificate identities through the handshake, in memory, and their fail-closed checks. */
public class X509HandshakeTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static AltsLikeIdentity clientCert;
  private static AltsLikeIdentity serverCert;
  private static AltsLikeIdentity strangerCert;
  private static AltsLikeIdentity clientRaw;
  private static AltsLikeIdentity serverRaw;
  private static List<X509Certificate> ca;

  @BeforeClass
  public static void identities() throws Exception {
    clientCert = X509Fixtures.identity("client");
    serverCert = X509Fixtures.identity("server");
    strangerCert = X509Fixtures.identity("stranger");
    clientRaw = AltsLikeIdentity.generate();
    serverRaw = AltsLikeIdentity.generate();
    ca = X509Fixtures.ca();
  }

  @Test
  public void certificateToCertificateHandshakesAndExchangesRecords() throws Exception {
    for (int chunk : new int[] {Integer.MAX_VALUE, 7, 1}) {
      HandshakeTest.Session s = new HandshakeTest.Session(
          certOptions(clientCert).build(), certOptions(serverCert).build());
      s.run(chunk);
      HandshakeTest.checkRecords(s);
      AltsLikePeer client = s.server.attributes().get(AltsLikePeer.PEER_IDENTITY_KEY);
      AltsLikePeer server = s.client.attributes().get(AltsLikePeer.PEER_IDENTITY_KEY);
      assertEquals(clientCert.certificateChain(), client.certificateChain());
      assertEquals(serverCert.certificateChain(), server.certificateChain());
      assertEquals(clientCert.id(), client.id());
      assertTrue(server.id(), server.id().startsWith("x509:CN=server,O=grpc-lean test sha256:"));
    }
  }

  @Test
  public void chainIncludingTheRootAndAPeerVerifierWork() throws Exception {
    AltsLikeIdentity withRoot = AltsLikeIdentity.ofCertificate(
        List.of(clientCert.certificateChain().get(0), ca.get(0)), clientCert.privateKey());
    HandshakeTest.Session s = new HandshakeTest.Session(certOptions(withRoot).build(),
        certOptions(serverCert).peerVerifier(p -> p.id().startsWith("x509:CN=client,")).build());
    s.run(Integer.MAX_VALUE);
    HandshakeTest.checkRecords(s);
    HandshakeException e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(clientCert).build(),
        certOptions(serverCert).peerVerifier(p -> false).build()).run(Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().contains("is not accepted by local policy (the peer"
        + " verifier)"));
  }

  @Test
  public void mixedCertificateAndRawKeyWorkBothWays() throws Exception {
    // Client certificate, server raw key.
    HandshakeTest.Session s = new HandshakeTest.Session(
        HandshakeTest.v1().identity(clientCert)
            .acceptPeers(List.of(serverRaw.publicKey())).build(),
        HandshakeTest.v1().identity(serverRaw).trustCertificates(ca).build());
    s.run(Integer.MAX_VALUE);
    HandshakeTest.checkRecords(s);
    assertEquals(clientCert.id(),
        s.server.attributes().get(AltsLikePeer.PEER_IDENTITY_KEY).id());
    assertEquals(List.of(),
        s.client.attributes().get(AltsLikePeer.PEER_IDENTITY_KEY).certificateChain());
    // Client raw key, server certificate.
    s = new HandshakeTest.Session(
        HandshakeTest.v1().identity(clientRaw).trustCertificates(ca).build(),
        certOptions(serverCert).acceptPeers(List.of(clientRaw.publicKey())).build());
    s.run(Integer.MAX_VALUE);
    HandshakeTest.checkRecords(s);
    assertEquals(clientRaw.id(), s.server.attributes().get(AltsLikePeer.PEER_IDENTITY_KEY).id());
  }

  @Test
  public void serverCertificateMustNameTheTarget() throws Exception {
    for (String authority : new String[] {"localhost:443", "LOCALHOST", "server.test.:8443",
        "127.0.0.1:50051", "[::1]:443"}) {
      new HandshakeTest.Session(certOptions(clientCert).build(), certOptions(serverCert).build(),
          authority).run(Integer.MAX_VALUE);
    }
    for (String authority : new String[] {"other.test:443", "127.0.0.2", "[::2]:443",
        "localhost.other.test", "test"}) {
      HandshakeException e = assertThrows(authority, HandshakeException.class,
          () -> new HandshakeTest.Session(certOptions(clientCert).build(),
              certOptions(serverCert).build(), authority).run(Integer.MAX_VALUE));
      assertTrue(e.getMessage(), e.getMessage().startsWith("server certificate x509:CN=server,"));
      assertTrue(e.getMessage(), e.getMessage().contains(" is not valid for "
          + X509PeerChecks.hostOf(authority) + ": certificate subject alternative names"
          + " [DNS:localhost, DNS:server.test, IP:127.0.0.1, IP:0:0:0:0:0:0:0:1] do not match"));
    }
  }

  @Test
  public void anotherServiceOfTheSameCaIsRejectedAsTheServer() throws Exception {
    AltsLikeIdentity otherService = X509Fixtures.identity("other-service");
    HandshakeException e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(clientCert).build(), certOptions(otherService).build(), "localhost:443")
        .run(Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().contains("is not valid for localhost:"
        + " certificate subject alternative names [DNS:other.test] do not match localhost"));
    // Its own name still works.
    new HandshakeTest.Session(certOptions(clientCert).build(), certOptions(otherService).build(),
        "other.test:443").run(Integer.MAX_VALUE);
  }

  @Test
  public void clientCertificateIsRejectedAsTheServerAndServerCertificateAsTheClient()
      throws Exception {
    HandshakeException e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(clientCert).build(), certOptions(clientCert).build()).run(Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().startsWith("server certificate x509:CN=client,"));
    assertTrue(e.getMessage(), e.getMessage().endsWith(" is not trusted: leaf certificate's"
        + " extendedKeyUsage [1.3.6.1.5.5.7.3.2] lacks serverAuth, required of a server"));
    e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(serverCert).build(), certOptions(serverCert).build()).run(Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().startsWith("client certificate x509:CN=server,"));
    assertTrue(e.getMessage(), e.getMessage().endsWith(" is not trusted: leaf certificate's"
        + " extendedKeyUsage [1.3.6.1.5.5.7.3.1] lacks clientAuth, required of a client"));
    // A certificate naming both purposes serves both roles.
    AltsLikeIdentity both = X509Fixtures.identity("both");
    new HandshakeTest.Session(certOptions(both).build(), certOptions(both).build())
        .run(Integer.MAX_VALUE);
  }

  @Test
  public void leafWithoutExtendedKeyUsageOrMarkedAsCaIsRejected() throws Exception {
    HandshakeException e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(clientCert).build(), certOptions(X509Fixtures.identity("no-eku")).build())
        .run(Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().endsWith(" is not trusted: leaf certificate has no"
        + " extendedKeyUsage; serverAuth is required of a server"));
    AltsLikeIdentity caLeaf = X509Fixtures.identity("ca-leaf");
    e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(clientCert).build(), certOptions(caLeaf).build()).run(Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().endsWith(" is not trusted: leaf certificate is a CA"
        + " certificate (basicConstraints cA=true)"));
    e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(caLeaf).build(), certOptions(serverCert).build()).run(Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().startsWith("client certificate x509:CN=ca-leaf,"));
    assertTrue(e.getMessage(), e.getMessage().endsWith("leaf certificate is a CA certificate"
        + " (basicConstraints cA=true)"));
  }

  @Test
  public void wildcardMatchesExactlyOneLeftMostLabel() throws Exception {
    AltsLikeIdentity wildcard = X509Fixtures.identity("wildcard");
    new HandshakeTest.Session(certOptions(clientCert).build(), certOptions(wildcard).build(),
        "api.wild.test:443").run(Integer.MAX_VALUE);
    for (String authority : new String[] {"wild.test", "a.b.wild.test", "api.wild.test.other"}) {
      assertThrows(authority, HandshakeException.class, () -> new HandshakeTest.Session(
          certOptions(clientCert).build(), certOptions(wildcard).build(), authority)
          .run(Integer.MAX_VALUE));
    }
  }

  @Test
  public void explicitOverridesOfTheNameCheck() throws Exception {
    // A fixed expected name instead of the authority's host.
    new HandshakeTest.Session(certOptions(clientCert).expectedServerName("server.test").build(),
        certOptions(serverCert).build(), "10.1.2.3:443").run(Integer.MAX_VALUE);
    assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(clientCert).expectedServerName("other.test").build(),
        certOptions(serverCert).build(), "localhost:443").run(Integer.MAX_VALUE));
    // No name check: only with a verifier, which sees the authority.
    IllegalStateException noVerifier = assertThrows(IllegalStateException.class,
        () -> certOptions(clientCert).disableServerNameCheck().build());
    assertEquals("disableServerNameCheck needs a peerVerifier to bind server certificates to the"
        + " target in its place", noVerifier.getMessage());
    List<String> seen = new java.util.ArrayList<>();
    HandshakeOptions bound = certOptions(clientCert).disableServerNameCheck()
        .peerVerifier((peer, authority) -> {
          seen.add(authority);
          return authority.startsWith("10.1.2.3:");
        }).build();
    new HandshakeTest.Session(bound, certOptions(serverCert).build(), "10.1.2.3:443")
        .run(Integer.MAX_VALUE);
    assertEquals(List.of("10.1.2.3:443"), seen);
    assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(bound,
        certOptions(serverCert).build(), "10.9.9.9:443").run(Integer.MAX_VALUE));
    // The client's verifier runs after the name check, the server's gets no authority.
    List<String> serverSeen = new java.util.ArrayList<>();
    new HandshakeTest.Session(certOptions(clientCert).build(), certOptions(serverCert)
        .peerVerifier((peer, authority) -> serverSeen.add(String.valueOf(authority))).build())
        .run(Integer.MAX_VALUE);
    assertEquals(List.of("null"), serverSeen);
  }

  @Test
  public void rawKeysBoundToAHostAreRejectedForAnother() throws Exception {
    HandshakeOptions client = HandshakeTest.v1().identity(clientRaw)
        .acceptPeersFor("a.test", List.of(serverRaw.publicKey())).build();
    HandshakeOptions server = HandshakeTest.v1().identity(serverRaw)
        .acceptPeers(List.of(clientRaw.publicKey())).build();
    new HandshakeTest.Session(client, server, "A.test:443").run(Integer.MAX_VALUE);
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> new HandshakeTest.Session(client, server, "b.test:443").run(Integer.MAX_VALUE));
    assertEquals("server identity " + serverRaw.id() + " for b.test:443 is not accepted by local"
        + " policy (the 1 accepted identities, 1 of them only for hosts [a.test])",
        e.getMessage());
  }

  @Test
  public void messagesWhoseLengthFieldIs790Complete() throws Exception {
    // 790 little-endian is 16 03 00 00, which starts a TLS handshake record.
    byte[] tlsLike = {0x16, 0x03, 0x00, 0x00};
    HandshakeTest.Session s = new HandshakeTest.Session(certOptions(clientCert).build(),
        certOptions(X509Fixtures.identity("len790-server")).build());
    byte[] serverInit = s.deliver(s.server, s.start(), Integer.MAX_VALUE);
    assertEquals(794, serverInit.length);
    assertArrayEquals(tlsLike, Arrays.copyOf(serverInit, 4));
    byte[] finished = s.deliver(s.client, serverInit, 3);
    assertTrue(s.clientDone);
    s.deliver(s.server, finished, Integer.MAX_VALUE);
    assertTrue(s.serverDone);
    HandshakeTest.checkRecords(s);

    s = new HandshakeTest.Session(certOptions(X509Fixtures.identity("len790-client")).build(),
        certOptions(serverCert).build());
    serverInit = s.deliver(s.server, s.start(), Integer.MAX_VALUE);
    finished = s.deliver(s.client, serverInit, Integer.MAX_VALUE);
    assertEquals(794, finished.length);
    assertArrayEquals(tlsLike, Arrays.copyOf(finished, 4));
    s.deliver(s.server, finished, 2);
    assertTrue(s.serverDone);
    HandshakeTest.checkRecords(s);
  }

  @Test
  public void certificatePeerWithoutTrustedRootsFails() {
    HandshakeException e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        HandshakeTest.v1().identity(clientCert)
            .acceptPeers(List.of(serverRaw.publicKey())).build(),
        HandshakeTest.v1().identity(serverRaw)
            .acceptPeers(List.of(clientRaw.publicKey())).build()).run(Integer.MAX_VALUE));
    assertEquals("client presented an X.509 certificate identity, but local policy trusts no"
        + " certificates (call trustCertificates)", e.getMessage());
  }

  @Test
  public void certificateIdentityToAServerWithoutRootsIsRefusedBeforeAnyCertificateIsParsed()
      throws Exception {
    // A chain field whose only "certificate" is not DER at all: parsing it would fail.
    byte[] garbage = new byte[300];
    java.util.Arrays.fill(garbage, (byte) 0x05);
    byte[] forged = new Messages.ClientFinished(Messages.Identity.x509(List.of(garbage)))
        .encodeUnsigned();
    HandshakeOptions noRoots = HandshakeTest.v1().identity(serverRaw)
        .acceptPeers(List.of(clientRaw.publicKey())).build();
    HandshakeTest.Session s = new HandshakeTest.Session(
        HandshakeTest.v1().identity(clientRaw)
            .acceptPeers(List.of(serverRaw.publicKey())).build(), noRoots);
    s.deliver(s.client, s.deliver(s.server, s.start(), Integer.MAX_VALUE), Integer.MAX_VALUE);
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> s.deliver(s.server, forged, Integer.MAX_VALUE));
    assertEquals("client presented an X.509 certificate identity, but local policy trusts no"
        + " certificates (call trustCertificates)", e.getMessage());
    // Nor is a message of certificate size buffered: without roots the limit stays 1 KiB.
    HandshakeTest.Session big = new HandshakeTest.Session(
        HandshakeTest.v1().identity(clientRaw)
            .acceptPeers(List.of(serverRaw.publicKey())).build(), noRoots);
    big.deliver(big.client, big.deliver(big.server, big.start(), Integer.MAX_VALUE),
        Integer.MAX_VALUE);
    // 1,037 + 4 bytes: over 1 KiB plus the 16 bytes a version 2 tag adds.
    byte[] tooBig = {0x0d, 0x04, 0, 0};
    assertEquals("handshake message of 1041 bytes exceeds the limit of 1040 bytes",
        assertThrows(HandshakeException.class,
            () -> big.deliver(big.server, tooBig, Integer.MAX_VALUE)).getMessage());
    // The control: a server that trusts roots does parse it, and fails on the garbage.
    HandshakeTest.Session parsing = new HandshakeTest.Session(
        HandshakeTest.v1().identity(clientRaw)
            .acceptPeers(List.of(serverRaw.publicKey())).build(),
        HandshakeTest.v1().identity(serverRaw).trustCertificates(ca).build());
    parsing.deliver(parsing.client,
        parsing.deliver(parsing.server, parsing.start(), Integer.MAX_VALUE), Integer.MAX_VALUE);
    e = assertThrows(HandshakeException.class,
        () -> parsing.deliver(parsing.server, forged, Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().startsWith(
        "client sent a malformed certificate (number 0 in its chain)"));
  }

  @Test
  public void rawKeyPeerWhenOnlyCertificatesAreTrustedFails() {
    HandshakeException e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        HandshakeTest.v1().identity(clientRaw).trustCertificates(ca).build(),
        certOptions(serverCert).build()).run(Integer.MAX_VALUE));
    assertEquals("client presented a raw Ed25519 key identity, but local policy accepts only"
        + " certificates chaining to the trusted roots", e.getMessage());
  }

  @Test
  public void untrustedChainFails() {
    HandshakeException e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(strangerCert).build(), certOptions(serverCert).build())
        .run(Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().startsWith("client certificate x509:CN=stranger,"));
    assertTrue(e.getMessage(), e.getMessage().contains(" is not trusted: "));
    // And the client side, against a server from another CA.
    e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(clientCert).build(), certOptions(strangerCert).build())
        .run(Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().startsWith("server certificate x509:CN=stranger,"));
  }

  @Test
  public void expiredCertificateFails() throws Exception {
    Date later = new Date(System.currentTimeMillis() + TimeUnit.DAYS.toMillis(365L * 20));
    HandshakeException e = assertThrows(HandshakeException.class, () -> new HandshakeTest.Session(
        certOptions(clientCert).build(),
        certOptions(serverCert).certificateValidationDate(later).build()).run(Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().contains(" is not trusted: "));
    assertTrue(e.getMessage(), e.getMessage().toLowerCase().contains("valid"));
  }

  @Test
  public void wrongKeyForTheCertificateIsRejectedLocallyAndOnTheWire() throws Exception {
    GeneralSecurityException local = assertThrows(GeneralSecurityException.class,
        () -> AltsLikeIdentity.ofCertificate(clientCert.certificateChain(),
            serverCert.privateKey()));
    assertTrue(local.getMessage(), local.getMessage().startsWith(
        "the private key does not match the certificate x509:CN=client,"));
    // On the wire: the client presents the server's certificate but signs with its own key.
    HandshakeTest.Session s = new HandshakeTest.Session(
        certOptions(clientCert).build(), certOptions(serverCert).build());
    byte[] clientInit = s.start();
    byte[] serverInit = s.deliver(s.server, clientInit, Integer.MAX_VALUE);
    s.deliver(s.client, serverInit, Integer.MAX_VALUE);
    byte[] forged = new Messages.ClientFinished(Messages.Identity.of(serverCert)).encodeUnsigned();
    int sigAt = Messages.signatureOffset(forged);
    byte[] transcript = HandshakeCrypto.transcriptHash(
        new byte[][] {clientInit, serverInit, forged},
        new int[] {clientInit.length, serverInit.length, sigAt});
    byte[] signature = HandshakeCrypto.sign(clientCert.privateKey(),
        clientCert.signatureAlgorithm(), HandshakeCrypto.CLIENT_SIGNATURE_CONTEXT, transcript);
    System.arraycopy(signature, 0, forged, sigAt, signature.length);
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> s.deliver(s.server, forged, Integer.MAX_VALUE));
    assertEquals("client's handshake signature does not verify for " + serverCert.id(),
        e.getMessage());
  }

  @Test
  public void tamperedSignatureFails() throws Exception {
    HandshakeException e = failFinished(f -> {
      f[Messages.signatureOffset(f) + 5] ^= 1;
      return f;
    });
    assertEquals("client's handshake signature does not verify for " + clientCert.id(),
        e.getMessage());
    HandshakeTest.Session s = new HandshakeTest.Session(
        certOptions(clientCert).build(), certOptions(serverCert).build());
    byte[] serverInit = s.deliver(s.server, s.start(), Integer.MAX_VALUE);
    serverInit[Messages.signatureOffset(serverInit)] ^= 1;
    e = assertThrows(HandshakeException.class,
        () -> s.deliver(s.client, serverInit, Integer.MAX_VALUE));
    assertEquals("server's handshake signature does not verify for " + serverCert.id(),
        e.getMessage());
  }

  @Test
  public void tamperedCertificateFails() throws Exception {
    // A byte inside the leaf's signature value (the DER's last bytes): still parses, but the
    // chain no longer verifies -- or the transcript signature breaks first.
    HandshakeException e = failFinished(f -> {
      f[Messages.signatureOffset(f) - 3] ^= 1;
      return f;
    });
    assertTrue(e.getMessage(), e.getMessage().contains("client"));
  }

  @Test
  public void malformedChainsFail() throws Exception {
    int typeAt = Messages.HEADER_BYTES;
    assertEquals("ClientFinished carries unknown identity type 9; supported: Ed25519 (1),"
        + " X.509 (2)", failFinished(f -> {
          f[typeAt] = 9;
          return f;
        }).getMessage());
    assertEquals("ClientFinished carries a certificate chain of 0 bytes; must be 1 to 16384",
        failFinished(f -> {
          f[typeAt + 1] = 0;
          f[typeAt + 2] = 0;
          return f;
        }).getMessage());
    assertEquals("ClientFinished is truncated", failFinished(f -> {
      f[typeAt + 1] = (byte) 0xff;
      f[typeAt + 2] = 0x3f;
      return f;
    }).getMessage());
    assertTrue(failFinished(f -> {
      f[typeAt + 3] = (byte) 0xff; // first certificate's length
      f[typeAt + 4] = 0x3f;
      return f;
    }).getMessage().startsWith("ClientFinished has a malformed certificate chain: certificate 0"
        + " claims"));
    String garbled = failFinished(f -> {
      f[typeAt + 5] = 0x05; // the certificate's outer SEQUENCE tag
      return f;
    }).getMessage();
    assertTrue(garbled, garbled.startsWith("client sent a malformed certificate (number 0 in its"
        + " chain)"));
  }

  @Test
  public void unsupportedKeyTypeFails() throws Exception {
    X509Certificate rsa = X509Fixtures.certificate("rsa");
    GeneralSecurityException local = assertThrows(GeneralSecurityException.class,
        () -> X509Identities.signatureAlgorithm(rsa.getPublicKey()));
    assertEquals("certificate key type RSA is not supported; use Ed25519 or EC P-256",
        local.getMessage());
    HandshakeException e = failFinished(f -> {
      byte[] forged;
      try {
        forged = new Messages.ClientFinished(Messages.Identity.x509(List.of(rsa.getEncoded())))
            .encodeUnsigned();
      } catch (Exception ex) {
        throw new AssertionError(ex);
      }
      return forged;
    });
    assertEquals("client's certificate key type RSA is not supported; use Ed25519 or EC P-256",
        e.getMessage());
  }

  @Test
  public void oversizedIdentityMessageFailsFromItsLengthField() throws Exception {
    HandshakeException e = failFinished(f -> {
      byte[] big = new byte[8];
      big[0] = 0x0d; // 17,421 + 4 > 17,408 + 16 (a version 2 tag)
      big[1] = 0x44;
      return big;
    });
    assertEquals("handshake message of 17425 bytes exceeds the limit of 17424 bytes",
        e.getMessage());
  }

  private HandshakeException failFinished(java.util.function.UnaryOperator<byte[]> tamper)
      throws Exception {
    HandshakeTest.Session s = new HandshakeTest.Session(
        certOptions(clientCert).build(), certOptions(serverCert).build());
    byte[] serverInit = s.deliver(s.server, s.start(), Integer.MAX_VALUE);
    byte[] finished = s.deliver(s.client, serverInit, Integer.MAX_VALUE);
    byte[] tampered = tamper.apply(finished.clone());
    return assertThrows(HandshakeException.class,
        () -> s.deliver(s.server, tampered, Integer.MAX_VALUE));
  }

  private static HandshakeOptions.Builder certOptions(AltsLikeIdentity identity) {
    return HandshakeTest.v1().identity(identity).trustCertificates(ca);
  }
}
