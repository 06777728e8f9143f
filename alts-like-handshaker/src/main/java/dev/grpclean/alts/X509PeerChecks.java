package dev.grpclean.alts;

import dev.grpclean.transport.tls.HostnameMatcher;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * What binds a validated certificate to its role and its target, after the PKIX chain check:
 * the leaf must not be a CA, its extended key usage must name the role ({@code serverAuth} for a
 * server, {@code clientAuth} for a client), and a server's subject alternative names must match
 * the host the client connects to (RFC 6125 §6, by the transport's {@link HostnameMatcher}, whose
 * javadoc has the rules). Public only so the handshake package can use it.
 *
 * <p>Thread-safe (stateless).
 */
public final class X509PeerChecks {
  /** RFC 5280 §4.2.1.12 id-kp-serverAuth. */
  public static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  /** RFC 5280 §4.2.1.12 id-kp-clientAuth. */
  public static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

  private X509PeerChecks() {}

  /**
   * Fails unless {@code leaf} may act in the role: not a CA certificate (basicConstraints cA), and
   * an extended key usage extension that names {@code serverAuth} (server) or {@code clientAuth}
   * (client). A leaf without the extension is refused too: a purpose must be stated, so a client
   * certificate cannot stand in for a server or the other way round.
   */
  public static void checkRole(X509Certificate leaf, boolean server) throws CertificateException {
    if (leaf.getBasicConstraints() >= 0) {
      throw new CertificateException("leaf certificate is a CA certificate (basicConstraints"
          + " cA=true)");
    }
    String purpose = server ? "serverAuth" : "clientAuth";
    List<String> usage = leaf.getExtendedKeyUsage();
    if (usage == null) {
      throw new CertificateException("leaf certificate has no extendedKeyUsage; " + purpose
          + " is required of a " + (server ? "server" : "client"));
    }
    if (!usage.contains(server ? SERVER_AUTH : CLIENT_AUTH)) {
      throw new CertificateException("leaf certificate's extendedKeyUsage " + usage
          + " lacks " + purpose + ", required of a " + (server ? "server" : "client"));
    }
  }

  /** The host of an authority {@code host[:port]}, without IPv6 brackets. */
  public static String hostOf(String authority) {
    return HostnameMatcher.hostOf(authority);
  }

  /** Fails unless one of the leaf's subject alternative names matches {@code host}. */
  public static void checkHost(X509Certificate leaf, String host) throws CertificateException {
    HostnameMatcher.checkHost(leaf, host);
  }
}
