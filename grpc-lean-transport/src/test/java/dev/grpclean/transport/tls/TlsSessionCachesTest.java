package dev.grpclean.transport.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.TlsServerCredentials.ClientAuth;
import java.net.InetSocketAddress;
import java.util.Collections;
import java.util.List;
import javax.net.ssl.SSLSessionContext;
import org.junit.After;
import org.junit.Assume;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;

/**
 * The session caches of the contexts credentials are converted to: bounded by default (not the
 * JDK's 20,480 sessions for 24 hours), configurable by system property, invalid values refused,
 * and the bound holds while handshakes keep adding sessions.
 */
@RunWith(Parameterized.class)
public class TlsSessionCachesTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

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
  public void reset() {
    TlsProviders.reset();
    System.clearProperty(TlsSessionCaches.SERVER_SIZE_PROPERTY);
    System.clearProperty(TlsSessionCaches.CLIENT_SIZE_PROPERTY);
    System.clearProperty(TlsSessionCaches.TIMEOUT_PROPERTY);
  }

  @Test
  public void cachesAreBoundedByDefault() {
    SSLSessionContext server = server().context().getServerSessionContext();
    assertEquals(TlsSessionCaches.DEFAULT_SERVER_SIZE, server.getSessionCacheSize());
    assertEquals(TlsSessionCaches.DEFAULT_TIMEOUT_SECONDS, server.getSessionTimeout());
    SSLSessionContext client = client().context().getClientSessionContext();
    assertEquals(TlsSessionCaches.DEFAULT_CLIENT_SIZE, client.getSessionCacheSize());
    assertEquals(TlsSessionCaches.DEFAULT_TIMEOUT_SECONDS, client.getSessionTimeout());
  }

  @Test
  public void propertiesOverrideTheBounds() {
    System.setProperty(TlsSessionCaches.SERVER_SIZE_PROPERTY, "7");
    System.setProperty(TlsSessionCaches.CLIENT_SIZE_PROPERTY, " 3 ");
    System.setProperty(TlsSessionCaches.TIMEOUT_PROPERTY, "42");
    SSLSessionContext server = server().context().getServerSessionContext();
    assertEquals(7, server.getSessionCacheSize());
    assertEquals(42, server.getSessionTimeout());
    SSLSessionContext client = client().context().getClientSessionContext();
    assertEquals(3, client.getSessionCacheSize());
    assertEquals(42, client.getSessionTimeout());
  }

  @Test
  public void invalidValuesAreRefusedByName() {
    System.setProperty(TlsSessionCaches.SERVER_SIZE_PROPERTY, "-1");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, this::server);
    assertEquals(TlsSessionCaches.SERVER_SIZE_PROPERTY
        + " must be a non-negative integer (0: unbounded); got \"-1\"", e.getMessage());
    System.clearProperty(TlsSessionCaches.SERVER_SIZE_PROPERTY);
    System.setProperty(TlsSessionCaches.TIMEOUT_PROPERTY, "5m");
    e = assertThrows(IllegalArgumentException.class, this::client);
    assertEquals(TlsSessionCaches.TIMEOUT_PROPERTY
        + " must be a non-negative integer (0: unbounded); got \"5m\"", e.getMessage());
  }

  /**
   * A JDK client keeps the sessions of every TLS 1.3 handshake (the connection's and the one
   * the server's NewSessionTicket makes) in its cache: unbounded, at least one per handshake;
   * bounded, never more than the bound. (Conscrypt's engine takes no tickets, so its client cache stays empty either way.)
   */
  @Test
  public void clientCacheHoldsAtMostItsBound() throws Exception {
    Assume.assumeTrue("only the JDK engine caches TLS 1.3 client sessions", provider.equals("jdk"));
    int handshakes = 6;
    System.setProperty(TlsSessionCaches.CLIENT_SIZE_PROPERTY, "0");
    int unbounded = cachedAfter(handshakes);
    // JDK 17 caches two per handshake: the connection's session and the ticket's.
    assertTrue("unbounded: " + unbounded, unbounded >= handshakes);
    System.setProperty(TlsSessionCaches.CLIENT_SIZE_PROPERTY, "2");
    assertEquals(2, cachedAfter(handshakes));
  }

  /** Session ids in a fresh client context's cache after this many handshakes. */
  private int cachedAfter(int handshakes) {
    TlsHandshakerFactory server = server();
    TlsHandshakerFactory client = client();
    for (int i = 0; i < handshakes; i++) {
      HandshakePair pair = new HandshakePair(
          client.newHandshaker(TlsTestCerts.AUTHORITY, null),
          server.newHandshaker(null, new InetSocketAddress("127.0.0.1", 40_000 + i)), 1 << 16)
          .run();
      assertTrue("handshake " + i, pair.client.done && pair.server.done);
      // The server's NewSessionTicket followed its Finished; the client took it as a record.
      assertTrue(pair.client.failure == null && pair.server.failure == null);
      pair.client.protector().release();
      pair.server.protector().release();
    }
    return Collections.list(client.context().getClientSessionContext().getIds()).size();
  }

  private TlsHandshakerFactory server() {
    return (TlsHandshakerFactory) TlsHandshakers.forServer(
        (TlsServerCredentials) TlsTestCerts.server(ClientAuth.NONE));
  }

  /** A new credentials object each time, so a new context (factories are cached per object). */
  private TlsHandshakerFactory client() {
    return (TlsHandshakerFactory) TlsHandshakers.forClient(
        (TlsChannelCredentials) TlsTestCerts.client(false));
  }
}
