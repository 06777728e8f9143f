package dev.grpclean.transport.tls;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import dev.grpclean.transport.LeanTransportStats;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.HandshakerFactory;
import dev.grpclean.transport.spi.RecordProtector;
import io.grpc.Attributes;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.SecurityLevel;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.TlsServerCredentials.ClientAuth;
import io.grpc.internal.GrpcAttributes;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
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
 * The TLS handshaker and record protector without sockets: two sides in memory, bytes split at
 * every size from one byte up, for each provider.
 */
@RunWith(Parameterized.class)
public class TlsHandshakerTest {
  private static final InetSocketAddress CLIENT_ADDRESS = new InetSocketAddress("127.0.0.1", 40000);

  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Parameters(name = "{0}")
  public static List<Object[]> providers() {
    return TlsProviders.both();
  }

  @Parameter public String provider;

  @Before
  public void selectProvider() {
    TlsProviders.select(provider);
    assertEquals(provider, TlsHandshakers.providerName());
  }

  @After
  public void resetProvider() {
    TlsProviders.reset();
    assertEquals(0, LeanTransportStats.leasedBytes());
  }

  @Test
  public void handshakeAndRecordsSurviveAnySplit() throws Exception {
    for (int chunk : new int[] {1, 2, 5, 6, 100, 1500, 1 << 20}) {
      HandshakePair pair = pair(TlsTestCerts.client(false), ClientAuth.NONE, chunk).run();
      assertDone(pair);
      // Byte-by-byte delivery of big payloads only repeats what small ones show, slowly.
      int[] sizes = chunk < 100 ? new int[] {1, 1000, 16385} : new int[] {1, 16384, 100_000};
      for (int size : sizes) {
        byte[] payload = HandshakePair.payload(size);
        pair.client.opened.reset();
        pair.server.opened.reset();
        pair.send(pair.client, payload);
        assertArrayEquals("chunk " + chunk + " size " + size,
            payload, pair.server.opened.toByteArray());
        pair.send(pair.server, payload);
        assertArrayEquals(payload, pair.client.opened.toByteArray());
      }
      assertEquals(0, pair.client.protector().pendingBytes());
      assertEquals(0, pair.server.protector().pendingBytes());
      pair.client.protector().release();
      pair.server.protector().release();
    }
  }

  @Test
  public void conscryptEngineKeepsNoDirectBufferOfItsOwn() throws Exception {
    assumeTrue(provider.equals("conscrypt"));
    // Heap input and output take Conscrypt's copying paths, the ones that would otherwise
    // allocate a 16 KiB direct buffer per engine and keep it (ConscryptEngine.lazyDirectBuffer).
    HandshakePair pair = pair(TlsTestCerts.client(false), ClientAuth.NONE, 7).run();
    assertDone(pair);
    pair.send(pair.client, HandshakePair.payload(40_000));
    pair.send(pair.server, HandshakePair.payload(100));
    for (HandshakePair.Side side : new HandshakePair.Side[] {pair.client, pair.server}) {
      Object engine = ((TlsHandshaker) side.handshaker).engine();
      if (engine.getClass().getSimpleName().equals("Java8EngineWrapper")) {
        engine = field(engine, "delegate");
      }
      assertNull(side.name + " engine allocated its own direct buffer",
          field(engine, "lazyDirectBuffer"));
    }
    closeAll(pair);
  }

  private static Object field(Object target, String name) throws ReflectiveOperationException {
    java.lang.reflect.Field f = target.getClass().getDeclaredField(name);
    f.setAccessible(true);
    return f.get(target);
  }

  @Test
  public void incompleteRecordKeepsOnlyItsOwnBytes() throws Exception {
    HandshakePair pair = pair(TlsTestCerts.client(false), ClientAuth.NONE, 1 << 20).run();
    assertDone(pair);
    RecordProtector sender = pair.client.protector();
    RecordProtector receiver = pair.server.protector();
    byte[] payload = HandshakePair.payload(10_000);
    ByteBuffer sealed = ByteBuffer.allocate(sender.maxProtectedBytes(payload.length));
    sender.protect(ByteBuffer.wrap(payload), sealed);
    sealed.flip();
    int recordBytes = sealed.remaining();
    ByteBuffer opened = ByteBuffer.allocate(payload.length);
    RecordProtector.PlaintextSink sink = opened::put;

    int[] cuts = {3, 5, 6, 700, recordBytes - 1};
    int sent = 0;
    for (int cut : cuts) {
      ByteBuffer part = sealed.duplicate();
      part.position(sent).limit(cut);
      receiver.unprotect(part, sink);
      sent = cut;
      assertEquals("pending after " + cut + " of " + recordBytes, cut, receiver.pendingBytes());
      assertEquals(0, opened.position());
      // The stash may be a heap-pool lease (from 2 KiB pending), never over twice its bytes.
      long leased = LeanTransportStats.leasedBytes();
      assertTrue("leased " + leased + " for " + cut + " pending", leased <= 2L * cut);
    }
    ByteBuffer rest = sealed.duplicate();
    rest.position(sent);
    receiver.unprotect(rest, sink);
    assertEquals(0, receiver.pendingBytes());
    assertEquals("nothing held once the record is opened", 0, LeanTransportStats.leasedBytes());
    assertArrayEquals(payload, opened.array());
    sender.release();
    receiver.release();
  }

  @Test
  public void sessionAndSecurityLevelReachAttributes() throws Exception {
    HandshakePair pair = pair(TlsTestCerts.client(true), ClientAuth.REQUIRE, 1 << 20).run();
    assertDone(pair);
    for (HandshakePair.Side side : new HandshakePair.Side[] {pair.client, pair.server}) {
      Attributes attrs = side.handshaker.attributes();
      assertEquals(SecurityLevel.PRIVACY_AND_INTEGRITY,
          attrs.get(GrpcAttributes.ATTR_SECURITY_LEVEL));
      SSLSession session = attrs.get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
      assertNotNull(session);
      assertTrue(session.getProtocol(), session.getProtocol().startsWith("TLSv1."));
      assertEquals(provider.equals("conscrypt"),
          session.getClass().getName().toLowerCase(Locale.ROOT).contains("conscrypt"));
      assertNotNull(side.handshaker.security());
      assertNotNull(side.handshaker.security().tls);
      assertEquals(session.getCipherSuite(),
          side.handshaker.security().tls.cipherSuiteStandardName);
    }
    X509Certificate clientCert = (X509Certificate) pair.server.handshaker.attributes()
        .get(Grpc.TRANSPORT_ATTR_SSL_SESSION).getPeerCertificates()[0];
    assertTrue(clientCert.getSubjectX500Principal().getName(),
        clientCert.getSubjectX500Principal().getName().contains("CN=testclient"));
    pair.client.protector().release();
    pair.server.protector().release();
  }

  @Test
  public void requiredClientCertificateMissingFailsTheServer() {
    HandshakePair pair = pair(TlsTestCerts.client(false), ClientAuth.REQUIRE, 1 << 20).run();
    assertFailed(pair.server, "TLS:");
    // Under TLS 1.3 the client finished first; the server's alert (forwarded as the transport
    // would with the patch suggested for Http2Connection) tells it why.
    assertFailed(pair.client, "TLS record rejected:");
    closeAll(pair);
  }

  @Test
  public void optionalClientCertificateMayBeAbsent() throws Exception {
    HandshakePair pair = pair(TlsTestCerts.client(false), ClientAuth.OPTIONAL, 1 << 20).run();
    assertDone(pair);
    pair.send(pair.client, HandshakePair.payload(10));
    closeAll(pair);
  }

  @Test
  public void untrustedServerFailsTheClient() {
    HandshakePair pair = pair(TlsTestCerts.client("badserver.pem", null), ClientAuth.NONE, 1 << 20)
        .run();
    assertFailed(pair.client, "TLS:");
    assertTrue(pair.client.failure.getMessage(),
        pair.client.failure.getMessage().toLowerCase(Locale.ROOT).contains("cert"));
    closeAll(pair);
  }

  @Test
  public void serverNameMismatchFailsTheClient() {
    HandshakerFactory client = TlsHandshakers.forClient(
        (TlsChannelCredentials) TlsTestCerts.client(false));
    HandshakePair pair = new HandshakePair(client.newHandshaker("wrong.example.com:443", null),
        serverFactory(ClientAuth.NONE).newHandshaker(null, CLIENT_ADDRESS), 1 << 20).run();
    assertFailed(pair.client, "TLS:");
    closeAll(pair);
  }

  @Test
  public void peerWithoutAlpnIsRefused() throws Exception {
    // A raw engine that offers no ALPN, driven by our handshaker logic.
    SSLEngine raw = TlsContexts.client((TlsChannelCredentials) TlsTestCerts.client(false),
        TlsProvider.selected()).createSSLEngine(TlsTestCerts.AUTHORITY, 443);
    raw.setUseClientMode(true);
    TlsProvider.selected().configure(raw);
    HandshakePair pair = new HandshakePair(new TlsHandshaker(new TlsEngine(raw)),
        serverFactory(ClientAuth.NONE).newHandshaker(null, CLIENT_ADDRESS), 1 << 20).run();
    assertFailed(pair.server, "did not negotiate ALPN protocol \"h2\"");
    closeAll(pair);
  }

  @Test
  public void plaintextHttp2PeerIsNamed() {
    Handshaker server = serverFactory(ClientAuth.NONE).newHandshaker(null, CLIENT_ADDRESS);
    ByteBuffer out = ByteBuffer.allocate(server.maxOutputBytes());
    try {
      server.start(out);
      server.onBytes(ByteBuffer.wrap(
          "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII)), out);
      fail("a plaintext preface passed the TLS handshake");
    } catch (Exception e) {
      assertTrue(e instanceof GeneralSecurityException);
      assertTrue(e.getMessage(), e.getMessage().contains("plaintext HTTP/2 preface"));
    } finally {
      server.close();
    }
  }

  @Test
  public void setupFailureSurfacesAtStart() {
    Handshaker client = TlsHandshakers.forClient(
        (TlsChannelCredentials) TlsTestCerts.client(false)).newHandshaker(null, null);
    try {
      client.start(ByteBuffer.allocate(client.maxOutputBytes()));
      fail("started without an authority");
    } catch (Exception e) {
      assertTrue(e.toString(), e instanceof GeneralSecurityException);
      assertTrue(e.getMessage(), e.getMessage().contains("authority"));
    } finally {
      client.close();
    }
  }

  @Test
  public void unknownFeaturesAreRefused() {
    TlsChannelCredentials fake =
        (TlsChannelCredentials) TlsChannelCredentials.newBuilder().requireFakeFeature().build();
    assertEquals("TLS features not understood: [FAKE]", TlsHandshakers.unsupportedReason(fake));
    try {
      TlsHandshakers.forClient(fake);
      fail();
    } catch (IllegalArgumentException expected) {
      assertTrue(expected.getMessage().contains("FAKE"));
    }
    TlsServerCredentials fakeServer = (TlsServerCredentials) TlsServerCredentials.newBuilder()
        .keyManager(new javax.net.ssl.KeyManager[0]).requireFakeFeature().build();
    assertEquals("TLS features not understood: [FAKE]",
        TlsHandshakers.unsupportedReason(fakeServer));
    assertNull(TlsHandshakers.unsupportedReason(
        (TlsServerCredentials) TlsTestCerts.server(ClientAuth.REQUIRE)));
  }

  @Test
  public void badProviderPropertyIsRefused() {
    TlsProviders.select("boringssl");
    try {
      TlsHandshakers.forClient((TlsChannelCredentials) TlsTestCerts.client(false));
      fail();
    } catch (IllegalArgumentException expected) {
      assertTrue(expected.getMessage(), expected.getMessage().contains("grpclean.tls.provider"));
    }
  }

  @Test
  public void factoryUsesTheSelectedProvider() {
    TlsHandshakerFactory factory = (TlsHandshakerFactory) serverFactory(ClientAuth.NONE);
    assertSame(TlsProvider.valueOf(provider.toUpperCase(Locale.ROOT)), factory.provider());
  }

  private HandshakePair pair(ChannelCredentials clientCreds, ClientAuth clientAuth, int chunk) {
    HandshakerFactory client = TlsHandshakers.forClient((TlsChannelCredentials) clientCreds);
    return new HandshakePair(client.newHandshaker(TlsTestCerts.AUTHORITY + ":443", null),
        serverFactory(clientAuth).newHandshaker(null, CLIENT_ADDRESS), chunk);
  }

  private static HandshakerFactory serverFactory(ClientAuth clientAuth) {
    return TlsHandshakers.forServer((TlsServerCredentials) TlsTestCerts.server(clientAuth));
  }

  private static void assertDone(HandshakePair pair) {
    if (pair.client.failure != null) {
      throw new AssertionError("client failed", pair.client.failure);
    }
    if (pair.server.failure != null) {
      throw new AssertionError("server failed", pair.server.failure);
    }
    assertTrue("client not done", pair.client.done);
    assertTrue("server not done", pair.server.done);
  }

  private static void assertFailed(HandshakePair.Side side, String messagePart) {
    assertNotNull(side.name + " did not fail", side.failure);
    assertTrue(side.failure.toString(), side.failure instanceof GeneralSecurityException);
    assertTrue(side.failure.getMessage(), side.failure.getMessage().contains(messagePart));
  }

  private static void closeAll(HandshakePair pair) {
    for (HandshakePair.Side side : new HandshakePair.Side[] {pair.client, pair.server}) {
      if (side.done) {
        side.protector().release();
      } else {
        side.handshaker.close();
      }
    }
  }
}
