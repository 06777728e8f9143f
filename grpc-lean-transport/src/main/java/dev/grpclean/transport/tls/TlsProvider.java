package dev.grpclean.transport.tls;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Locale;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import javax.annotation.Nullable;

/**
 * Where SSLEngines come from. Chosen when credentials are converted, by the system property
 * {@value TlsHandshakers#PROVIDER_PROPERTY}: {@code jdk}, {@code conscrypt}, or unset for
 * Conscrypt when it loads and the JDK otherwise, as grpc-java prefers.
 *
 * <p>Why Conscrypt by default, measured with {@code scripts/bench} (JDK 17, 2 shared cores, lean
 * and grpc-netty-shaded TLS in one run, medians of 3):
 *
 * <pre>
 *                                        Conscrypt engine     JDK engine
 *   stream 1 MiB messages, client allocated / MiB   12.3 KiB       239 KiB  (Netty 31 KiB)
 *   stream, client CPU / MiB                       2.5 ms          10.3 ms  (Netty 3.0-5.3 ms)
 *   idle, server heap + native / conn              36.3 KiB        25.0 KiB (Netty 16.6-20.8)
 *   idle, client heap + native / conn              63.8 KiB        32.9 KiB (Netty 56.8-57.0)
 *   idle after one 64 KiB RPC, server (1 run)      59.2 KiB        20.7 KiB (Netty 30.2)
 * </pre>
 *
 * The JDK engine is the leaner one at rest (Conscrypt's engine mallocs a BoringSSL BIO pair, two
 * 17 KiB buffers, per connection for its lifetime, with no API to shrink or release them) but
 * allocates 20x more and spends 4x the CPU per MiB under load (SunJCE copies direct buffers into
 * fresh heap arrays per record), so Conscrypt stays the default; a server holding very many
 * mostly idle TLS connections can choose {@code jdk}.
 *
 * <p>Immutable; thread-safe.
 */
enum TlsProvider {
  JDK {
    @Override
    SSLContext newContext(KeyManager[] keys, TrustManager[] trust)
        throws GeneralSecurityException {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys, trust, new SecureRandom());
      return context;
    }

    @Override
    void configure(SSLEngine engine) {}
  },

  CONSCRYPT {
    @Override
    SSLContext newContext(KeyManager[] keys, TrustManager[] trust)
        throws GeneralSecurityException {
      SSLContext context = SSLContext.getInstance("TLS", ConscryptSupport.provider());
      context.init(keys, forConscrypt(trust), new SecureRandom());
      return context;
    }

    @Override
    void configure(SSLEngine engine) {
      ConscryptSupport.useLeasedBuffers(engine);
    }
  };

  /**
   * Whether this provider checks hostnames with these trust managers. Conscrypt's engine leaves
   * HTTPS endpoint identification to an {@link X509ExtendedTrustManager}; with a plain {@link
   * X509TrustManager} nothing would check the server's name (the JDK wraps such managers in a
   * checking adapter of its own).
   */
  boolean checksHostnames(@Nullable TrustManager[] trust) {
    if (this == JDK || trust == null) {
      return true;
    }
    for (TrustManager tm : trust) {
      if (tm instanceof X509TrustManager && !(tm instanceof X509ExtendedTrustManager)) {
        return false;
      }
    }
    return true;
  }

  private static TrustManager[] forConscrypt(TrustManager[] trust) {
    TrustManager[] mapped = trust.clone();
    for (int i = 0; i < mapped.length; i++) {
      if (mapped[i] instanceof X509ExtendedTrustManager
          && !mapped[i].getClass().getName().startsWith("org.conscrypt.")) {
        mapped[i] = new Tls13AuthTypeTrustManager((X509ExtendedTrustManager) mapped[i]);
      }
    }
    return mapped;
  }

  /** An initialised context of this provider. */
  abstract SSLContext newContext(KeyManager[] keys, TrustManager[] trust)
      throws GeneralSecurityException;

  /** Provider-specific setup of a new engine, before its handshake. */
  abstract void configure(SSLEngine engine);

  /**
   * The provider the property asks for.
   *
   * @throws IllegalArgumentException if the property names no provider, or names Conscrypt and
   *     Conscrypt cannot load
   */
  static TlsProvider selected() {
    String value = System.getProperty(TlsHandshakers.PROVIDER_PROPERTY, "").trim();
    switch (value.toLowerCase(Locale.ROOT)) {
      case "":
        return ConscryptSupport.unavailableReason() == null ? CONSCRYPT : JDK;
      case "jdk":
        return JDK;
      case "conscrypt":
        String reason = ConscryptSupport.unavailableReason();
        if (reason != null) {
          throw new IllegalArgumentException(TlsHandshakers.PROVIDER_PROPERTY
              + "=conscrypt, but Conscrypt is unavailable: " + reason);
        }
        return CONSCRYPT;
      default:
        throw new IllegalArgumentException(TlsHandshakers.PROVIDER_PROPERTY
            + " must be \"jdk\" or \"conscrypt\"; got \"" + value + "\"");
    }
  }
}
