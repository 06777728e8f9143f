package dev.grpclean.transport.tls;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanTransportStats;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.TlsServerCredentials.ClientAuth;
import java.net.InetSocketAddress;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Servers and channels may use different engines: a side's own property overrides the shared
 * one for that side only, a bad side value is refused naming that property, and engines of the
 * two kinds complete a handshake and exchange records with each other.
 */
public class TlsSideProviderTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @After
  public void reset() {
    TlsProviders.reset();
    assertEquals(0, LeanTransportStats.leasedBytes());
  }

  @Test
  public void eachSideTakesItsOwnProperty() {
    System.setProperty(TlsHandshakers.SERVER_PROVIDER_PROPERTY, "jdk");
    System.setProperty(TlsHandshakers.CLIENT_PROVIDER_PROPERTY, "conscrypt");
    assertEquals(TlsProvider.JDK, server().provider());
    assertEquals(TlsProvider.CONSCRYPT, client().provider());
    assertEquals("jdk", TlsHandshakers.providerName(false));
    assertEquals("conscrypt", TlsHandshakers.providerName(true));

    System.setProperty(TlsHandshakers.SERVER_PROVIDER_PROPERTY, "Conscrypt ");
    System.setProperty(TlsHandshakers.CLIENT_PROVIDER_PROPERTY, "JDK");
    assertEquals(TlsProvider.CONSCRYPT, server().provider());
    assertEquals(TlsProvider.JDK, client().provider());
  }

  @Test
  public void aSidePropertyOverridesTheSharedOneForThatSideOnly() {
    System.setProperty(TlsHandshakers.PROVIDER_PROPERTY, "jdk");
    System.setProperty(TlsHandshakers.SERVER_PROVIDER_PROPERTY, "conscrypt");
    assertEquals(TlsProvider.CONSCRYPT, server().provider());
    assertEquals(TlsProvider.JDK, client().provider());
    System.setProperty(TlsHandshakers.SERVER_PROVIDER_PROPERTY, " ");
    assertEquals("a blank side property defers to the shared one",
        TlsProvider.JDK, server().provider());
  }

  @Test
  public void aBadSideValueIsRefusedByName() throws Exception {
    System.setProperty(TlsHandshakers.SERVER_PROVIDER_PROPERTY, "boringssl");
    TlsServerCredentials creds = (TlsServerCredentials) TlsTestCerts.server(ClientAuth.NONE);
    assertEquals(TlsHandshakers.SERVER_PROVIDER_PROPERTY
        + " must be \"jdk\" or \"conscrypt\"; got \"boringssl\"",
        TlsHandshakers.unsupportedReason(creds));
    assertThrows(IllegalArgumentException.class, () -> TlsHandshakers.forServer(creds));
    assertNull("channels are not affected", TlsHandshakers.unsupportedReason(
        (TlsChannelCredentials) TlsTestCerts.client(false)));
  }

  @Test
  public void mixedEnginesTalk() throws Exception {
    String[][] pairs = {{"jdk", "conscrypt"}, {"conscrypt", "jdk"}};
    for (String[] p : pairs) {
      System.setProperty(TlsHandshakers.SERVER_PROVIDER_PROPERTY, p[0]);
      System.setProperty(TlsHandshakers.CLIENT_PROVIDER_PROPERTY, p[1]);
      HandshakePair pair = new HandshakePair(
          client().newHandshaker(TlsTestCerts.AUTHORITY, null),
          server().newHandshaker(null, new InetSocketAddress("127.0.0.1", 40_000)), 1 << 16)
          .run();
      String what = "server " + p[0] + ", client " + p[1];
      assertTrue(what, pair.client.done && pair.server.done);
      byte[] up = HandshakePair.payload(20_000);
      byte[] down = HandshakePair.payload(70_000);
      pair.send(pair.client, up);
      pair.send(pair.server, down);
      assertArrayEquals(what, up, pair.server.opened.toByteArray());
      assertArrayEquals(what, down, pair.client.opened.toByteArray());
      pair.client.protector().release();
      pair.server.protector().release();
    }
  }

  private static TlsHandshakerFactory server() {
    return (TlsHandshakerFactory) TlsHandshakers.forServer(
        (TlsServerCredentials) TlsTestCerts.server(ClientAuth.NONE));
  }

  private static TlsHandshakerFactory client() {
    return (TlsHandshakerFactory) TlsHandshakers.forClient(
        (TlsChannelCredentials) TlsTestCerts.client(false));
  }
}
