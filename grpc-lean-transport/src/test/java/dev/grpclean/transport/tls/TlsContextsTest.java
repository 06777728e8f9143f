package dev.grpclean.transport.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;

import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.TlsServerCredentials;
import io.grpc.TlsServerCredentials.ClientAuth;
import java.io.ByteArrayInputStream;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** Which TLS server configurations are refused when converted. */
public class TlsContextsTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private static TlsServerCredentials server(ClientAuth clientAuth, boolean roots)
      throws Exception {
    TlsServerCredentials.Builder b = TlsServerCredentials.newBuilder()
        .keyManager(new ByteArrayInputStream(TlsTestCerts.bytes("server1.pem")),
            new ByteArrayInputStream(TlsTestCerts.bytes("server1.key")))
        .clientAuth(clientAuth);
    if (roots) {
      b.trustManager(new ByteArrayInputStream(TlsTestCerts.bytes("ca.pem")));
    }
    return (TlsServerCredentials) b.build();
  }

  @Test
  public void clientCertificatesWithoutRootsAreRefused() throws Exception {
    for (ClientAuth auth : new ClientAuth[] {ClientAuth.REQUIRE, ClientAuth.OPTIONAL}) {
      TlsServerCredentials creds = server(auth, false);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> TlsHandshakers.forServer(creds));
      assertEquals("cannot create the TLS context: TLS server asks for client certificates"
          + " (clientAuth " + auth + ") but has no trust manager or root certificates to verify"
          + " them with; set trustManager(...) to the CA that issues your clients' certificates"
          + " (the JVM's default CA store is not used for client identities)", e.getMessage());
      // Refused when the server is built, not at the first connection.
      assertThrows(IllegalArgumentException.class, () -> LeanServerBuilder.forPort(0, creds));
    }
  }

  @Test
  public void clientCertificatesWithRootsOrNoClientAuthWithoutRootsAreFine() throws Exception {
    assertNotNull(TlsHandshakers.forServer(server(ClientAuth.REQUIRE, true)));
    assertNotNull(TlsHandshakers.forServer(server(ClientAuth.OPTIONAL, true)));
    assertNotNull(TlsHandshakers.forServer(server(ClientAuth.NONE, false)));
  }
}
