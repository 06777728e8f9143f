package dev.grpclean.transport.tls;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import dev.grpclean.transport.LeanTransportStats;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.TlsServerCredentials.ClientAuth;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.KeyFactory;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayDeque;
import java.util.Deque;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Keys reach Conscrypt's engine converted once per alias and shared; a new key for the alias is
 * converted again; a key Conscrypt cannot take passes through; handshakes with converted keys on
 * both sides (mutual TLS) complete and carry records.
 */
public class ConscryptKeyManagerTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private PrivateKey server1;
  private PrivateKey client;

  @Before
  public void keys() throws Exception {
    assumeTrue("Conscrypt is not available here", ConscryptSupport.unavailableReason() == null);
    server1 = key("server1");
    client = key("client");
  }

  @After
  public void reset() {
    TlsProviders.reset();
    assertEquals(0, LeanTransportStats.leasedBytes());
  }

  @Test
  public void eachAliasIsConvertedOnceAndShared() throws Exception {
    // A key store's manager decodes a new, equal key object per call.
    FakeKeyManager delegate = new FakeKeyManager(() -> copy(server1));
    ConscryptKeyManager keys = new ConscryptKeyManager(delegate, ConscryptSupport.provider());
    PrivateKey first = keys.getPrivateKey("server");
    PrivateKey second = keys.getPrivateKey("server");
    assertTrue(first.getClass().getName(), first.getClass().getName().startsWith("org.conscrypt."));
    assertSame(first, second);
    assertEquals(((RSAPrivateKey) server1).getModulus(), ((RSAPrivateKey) first).getModulus());
    assertEquals(2, delegate.calls);
  }

  @Test
  public void aNewKeyForTheAliasIsConvertedAgain() throws Exception {
    Deque<PrivateKey> served = new ArrayDeque<>();
    served.add(server1);
    served.add(client);
    ConscryptKeyManager keys = new ConscryptKeyManager(
        new FakeKeyManager(served::remove), ConscryptSupport.provider());
    PrivateKey before = keys.getPrivateKey("rotating");
    PrivateKey after = keys.getPrivateKey("rotating");
    assertNotSame(before, after);
    assertEquals(((RSAPrivateKey) server1).getModulus(), ((RSAPrivateKey) before).getModulus());
    assertEquals(((RSAPrivateKey) client).getModulus(), ((RSAPrivateKey) after).getModulus());
  }

  @Test
  public void aKeyWithoutEncodingPassesThrough() {
    PrivateKey opaque = new PrivateKey() {
      @Override
      public String getAlgorithm() {
        return "RSA";
      }

      @Override
      public String getFormat() {
        return null;
      }

      @Override
      public byte[] getEncoded() {
        return null;
      }
    };
    ConscryptKeyManager keys = new ConscryptKeyManager(
        new FakeKeyManager(() -> opaque), ConscryptSupport.provider());
    assertSame(opaque, keys.getPrivateKey("hsm"));
    assertNull(new ConscryptKeyManager(new FakeKeyManager(() -> null),
        ConscryptSupport.provider()).getPrivateKey("none"));
  }

  @Test
  public void wrapLeavesNullAndWrapsOnce() {
    assertNull(ConscryptKeyManager.wrap(null, ConscryptSupport.provider()));
    KeyManager[] once = ConscryptKeyManager.wrap(
        new KeyManager[] {new FakeKeyManager(() -> server1)}, ConscryptSupport.provider());
    assertTrue(once[0] instanceof ConscryptKeyManager);
    assertSame(once[0], ConscryptKeyManager.wrap(once, ConscryptSupport.provider())[0]);
  }

  @Test
  public void mutualTlsHandshakesWithConvertedKeys() throws Exception {
    TlsProviders.select("conscrypt");
    TlsHandshakerFactory server = (TlsHandshakerFactory) TlsHandshakers.forServer(
        (TlsServerCredentials) TlsTestCerts.server(ClientAuth.REQUIRE));
    TlsHandshakerFactory channel = (TlsHandshakerFactory) TlsHandshakers.forClient(
        (TlsChannelCredentials) TlsTestCerts.client(true));
    for (int i = 0; i < 3; i++) {
      HandshakePair pair = new HandshakePair(
          channel.newHandshaker(TlsTestCerts.AUTHORITY, null),
          server.newHandshaker(null, new InetSocketAddress("127.0.0.1", 40_000)), 1 << 16)
          .run();
      assertTrue("handshake " + i, pair.client.done && pair.server.done);
      byte[] up = HandshakePair.payload(5_000);
      byte[] down = HandshakePair.payload(30_000);
      pair.send(pair.client, up);
      pair.send(pair.server, down);
      assertArrayEquals(up, pair.server.opened.toByteArray());
      assertArrayEquals(down, pair.client.opened.toByteArray());
      pair.client.protector().release();
      pair.server.protector().release();
    }
  }

  private static PrivateKey key(String name) throws Exception {
    X509Certificate[] chain = Pem.certificates(TlsTestCerts.bytes(name + ".pem"));
    return Pem.privateKey(TlsTestCerts.bytes(name + ".key"), null, chain[0]);
  }

  private static PrivateKey copy(PrivateKey key) {
    try {
      return KeyFactory.getInstance(key.getAlgorithm())
          .generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Serves whatever its supplier gives for any alias; counts the calls. */
  private static final class FakeKeyManager extends X509ExtendedKeyManager {
    interface KeySource {
      PrivateKey next();
    }

    private final KeySource source;
    int calls;

    FakeKeyManager(KeySource source) {
      this.source = source;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      calls++;
      return source.next();
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers,
        SSLEngine engine) {
      return null;
    }
  }
}
