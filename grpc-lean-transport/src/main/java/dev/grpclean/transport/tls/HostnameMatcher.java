package dev.grpclean.transport.tls;

import com.google.common.net.InetAddresses;
import java.net.IDN;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import javax.annotation.Nullable;

/**
 * Matches a certificate's subject alternative names against a host by RFC 6125 §6: DNS names
 * compare case-insensitively in their ASCII (A-label) form, a trailing dot ignored; a wildcard is
 * allowed only as the whole left-most label of a name with at least two further labels ({@code
 * *.example.com} matches {@code a.example.com}, not {@code example.com} nor {@code
 * a.b.example.com}; {@code f*.example.com} matches nothing); an IP address host matches only an
 * IP address SAN of the same address, never a DNS name. There is no fallback to the subject's
 * common name (RFC 6125 §6.4.4 allows it only without DNS SANs, and the Web PKI dropped it; a
 * certificate without SANs names no host). Used for per-call authorities over TLS and by the
 * ALTS-like handshake for server certificates.
 *
 * <p>Thread-safe (stateless).
 */
public final class HostnameMatcher {
  /** RFC 5280 §4.2.1.6 GeneralName tags. */
  private static final int SAN_DNS = 2;
  private static final int SAN_IP = 7;

  private HostnameMatcher() {}

  /**
   * The host of an authority {@code host[:port]} (IPv6 literals in brackets), without brackets.
   *
   * @throws IllegalArgumentException if there is no host
   */
  public static String hostOf(String authority) {
    String host = hostOrEmpty(authority);
    if (host.isEmpty()) {
      throw new IllegalArgumentException("authority " + authority + " names no host");
    }
    return host;
  }

  /** The host of {@code host[:port]}, IPv6 brackets removed; empty if it names none. */
  static String hostOrEmpty(String authority) {
    String host = null;
    try {
      host = new URI(null, authority, null, null, null).getHost();
    } catch (URISyntaxException e) {
      // Fall through to the plain split below.
    }
    if (host == null) {
      int colon = authority.lastIndexOf(':');
      host = colon > 0 && authority.indexOf(':') == colon
          ? authority.substring(0, colon) : authority;
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return host;
  }

  /** Fails unless one of the leaf's subject alternative names matches {@code host}. */
  public static void checkHost(X509Certificate leaf, String host) throws CertificateException {
    if (!matchesHost(leaf, host)) {
      throw new CertificateException("certificate subject alternative names "
          + describeNames(leaf) + " do not match " + host);
    }
  }

  /** True if one of the leaf's subject alternative names matches {@code host} (RFC 6125). */
  public static boolean matchesHost(X509Certificate leaf, String host)
      throws CertificateParsingException {
    Collection<List<?>> names = leaf.getSubjectAlternativeNames();
    if (names == null) {
      return false;
    }
    if (InetAddresses.isInetAddress(host)) {
      InetAddress target = InetAddresses.forString(host);
      for (List<?> name : names) {
        if ((Integer) name.get(0) == SAN_IP && name.get(1) instanceof String
            && InetAddresses.isInetAddress((String) name.get(1))
            && InetAddresses.forString((String) name.get(1)).equals(target)) {
          return true;
        }
      }
      return false;
    }
    String target = normalize(host);
    if (target == null) {
      return false;
    }
    for (List<?> name : names) {
      if ((Integer) name.get(0) == SAN_DNS && name.get(1) instanceof String
          && dnsMatches((String) name.get(1), target)) {
        return true;
      }
    }
    return false;
  }

  /** {@code pattern} (a DNS SAN) against a host name in lower-case ASCII form. */
  public static boolean dnsMatches(String pattern, String host) {
    String p = normalize(pattern.startsWith("*.") ? pattern.substring(2) : pattern);
    if (p == null || p.indexOf('*') >= 0) {
      return false;
    }
    if (!pattern.startsWith("*.")) {
      return p.equals(host);
    }
    // RFC 6125 §6.4.3: the wildcard is the whole left-most label and matches exactly one label;
    // a wildcard over a single remaining label (*.com) would match a whole top-level domain.
    int dot = host.indexOf('.');
    return p.indexOf('.') > 0 && dot > 0 && host.substring(dot + 1).equals(p);
  }

  /** Lower-case ASCII form without a trailing dot, or null if it is no valid host name. */
  @Nullable
  private static String normalize(String name) {
    String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    if (n.isEmpty()) {
      return null;
    }
    try {
      n = IDN.toASCII(n);
    } catch (IllegalArgumentException e) {
      return null;
    }
    return n.toLowerCase(Locale.ROOT);
  }

  private static String describeNames(X509Certificate leaf) throws CertificateParsingException {
    Collection<List<?>> names = leaf.getSubjectAlternativeNames();
    if (names == null) {
      return "(none)";
    }
    StringBuilder b = new StringBuilder("[");
    for (List<?> name : names) {
      int type = (Integer) name.get(0);
      if (type == SAN_DNS || type == SAN_IP) {
        b.append(b.length() == 1 ? "" : ", ").append(type == SAN_DNS ? "DNS:" : "IP:")
            .append(name.get(1));
      }
    }
    return b.append(']').toString();
  }
}
