package dev.grpclean.transport.tls;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.testing.TlsTesting;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * grpc-testing's bundled test CA and certificates. {@code server1.pem} is valid for
 * {@code *.test.google.fr} (among others), so clients override the authority with {@link
 * #AUTHORITY}.
 *
 * <p>Thread-safe (stateless).
 */
final class TlsTestCerts {
  static final String AUTHORITY = "foo.test.google.fr";

  private TlsTestCerts() {}

  static byte[] bytes(String name) {
    try (InputStream in = TlsTesting.loadCert(name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** server1, trusting the test CA for client certificates. */
  static ServerCredentials server(TlsServerCredentials.ClientAuth clientAuth) {
    try {
      return TlsServerCredentials.newBuilder()
          .keyManager(stream("server1.pem"), stream("server1.key"))
          .trustManager(stream("ca.pem"))
          .clientAuth(clientAuth)
          .build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Trusts the test CA; with {@code clientCert}, presents the CA-signed client certificate. */
  static ChannelCredentials client(boolean clientCert) {
    return client("ca.pem", clientCert ? "client" : null);
  }

  /** Trusts {@code rootPem}; presents {@code identity}.pem/.key unless null. */
  static ChannelCredentials client(String rootPem, String identity) {
    try {
      TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder()
          .trustManager(stream(rootPem));
      if (identity != null) {
        b.keyManager(stream(identity + ".pem"), stream(identity + ".key"));
      }
      return b.build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static InputStream stream(String name) {
    return new ByteArrayInputStream(bytes(name));
  }
}
