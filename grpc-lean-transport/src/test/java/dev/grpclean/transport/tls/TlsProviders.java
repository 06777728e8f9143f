package dev.grpclean.transport.tls;

import java.util.Arrays;
import java.util.List;

/**
 * Runs a test class once per TLS provider by setting {@value TlsHandshakers#PROVIDER_PROPERTY},
 * which credentials conversion reads.
 *
 * <p>Not thread-safe: tests of one JVM run one at a time.
 */
final class TlsProviders {
  private TlsProviders() {}

  static List<Object[]> both() {
    return Arrays.asList(new Object[] {"jdk"}, new Object[] {"conscrypt"});
  }

  static void select(String provider) {
    System.setProperty(TlsHandshakers.PROVIDER_PROPERTY, provider);
  }

  static void reset() {
    System.clearProperty(TlsHandshakers.PROVIDER_PROPERTY);
    System.clearProperty(TlsHandshakers.SERVER_PROVIDER_PROPERTY);
    System.clearProperty(TlsHandshakers.CLIENT_PROVIDER_PROPERTY);
  }
}
