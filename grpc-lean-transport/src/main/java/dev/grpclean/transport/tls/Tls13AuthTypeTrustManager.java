package dev.grpclean.transport.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Lets the JDK's trust manager check chains for Conscrypt's engine under TLS 1.3. BoringSSL names
 * the TLS 1.3 key exchange "GENERIC" (RFC 8446 has no cipher-suite key exchange), which the JDK's
 * end-entity checker rejects as an unknown auth type; the JDK itself says "UNKNOWN" for TLS 1.3,
 * which skips the TLS 1.2 key-usage rules that do not apply. Everything else, including HTTPS
 * endpoint identification through the engine's parameters, is the delegate's.
 *
 * <p>Thread-safe if the delegate is.
 */
final class Tls13AuthTypeTrustManager extends X509ExtendedTrustManager {
  private static final String BORINGSSL_TLS13 = "GENERIC";
  private static final String JDK_TLS13 = "UNKNOWN";

  private final X509ExtendedTrustManager delegate;

  Tls13AuthTypeTrustManager(X509ExtendedTrustManager delegate) {
    this.delegate = delegate;
  }

  private static String map(String authType) {
    return BORINGSSL_TLS13.equals(authType) ? JDK_TLS13 : authType;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    delegate.checkClientTrusted(chain, map(authType), socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    delegate.checkServerTrusted(chain, map(authType), socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    delegate.checkClientTrusted(chain, map(authType), engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    delegate.checkServerTrusted(chain, map(authType), engine);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    delegate.checkClientTrusted(chain, map(authType));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    delegate.checkServerTrusted(chain, map(authType));
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return delegate.getAcceptedIssuers();
  }
}
