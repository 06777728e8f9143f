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
 * Conscrypt when it loads and the JDK otherwise, as grpc-java prefers. Each side can be set apart
 * ({@value TlsHandshakers#SERVER_PROVIDER_PROPERTY}, {@value
 * TlsHandshakers#CLIENT_PROVIDER_PROPERTY}), which overrides the shared property for that side.
 *
 * <p>Why Conscrypt by default on both sides, measured with {@code scripts/bench} (JDK 17, 2 shared
 * cores, lean and grpc-netty-shaded TLS in one run, medians of 3; idle: {@code compare idle
 * --security tls --tls-provider P --baseline-connections 500 --connections 1000}, marginal cost
 * per idle connection, heap + RSS outside the heap):
 *
 * <pre>
 *                                        Conscrypt engine     JDK engine
 *   stream 1 MiB messages, client allocated / MiB   12.7 KiB       207 KiB  (Netty 32-51 KiB)
 *   stream, throughput (JDK engine on the client)   234 MiB/s      136 MiB/s (0.76x Netty's)
 *   idle, server heap + native / conn              27.0 KiB        21.8 KiB (Netty 22-26)
 *     of which heap                                 3.7 KiB         8.1 KiB (Netty 9.3)
 *   idle, client heap + native / conn              55.3 KiB        27.6 KiB (Netty 57-62)
 *   idle after one 64 KiB RPC, server (1 run)      59.2 KiB        20.7 KiB (Netty 30.2)
 * </pre>
 *
 * What an idle connection holds beyond a plaintext one ({@code jmap -histo:live} and native
 * memory tracking at 500 vs 1,500 connections):
 *
 * <ul>
 *   <li>Conscrypt: ~1.2 KiB of heap, and ~33 KiB of malloc'd memory that native memory tracking
 *       does not see: every {@code ConscryptEngine} constructor creates a BoringSSL BIO pair
 *       ({@code BIO_new_bio_pair} with the default 17 KiB per direction) that lives until the
 *       engine is closed; Conscrypt has no call to size, shrink or release it, and no engine
 *       without it (its file-descriptor socket is blocking). BoringSSL's own record buffers are
 *       released when empty. Its RSS outside the heap never measured below 23 KiB per
 *       connection.
 *   <li>JDK: ~5.7 KiB of heap on a server, ~7.2 KiB on a client, and no native memory that
 *       native memory tracking attributes to connections: its RSS outside the heap moves from
 *       1.6 to 14.8 KiB per connection between runs (the JVM's own growth, JIT arenas and malloc,
 *       which a plaintext lean server shows too). Of the server's heap share, 1.2 KiB is the
 *       engine's handshake-transcript buffer still holding the TLS 1.3 NewSessionTicket it sent
 *       (a stateless ticket: the server caches no session); the rest is the session, two AES-GCM
 *       ciphers with their key schedules, traffic secrets and the engine's record state. A client
 *       also keeps the resumption session that ticket made (with its ~1.2 KiB ticket), as a
 *       child of the connection's session. None of it can be dropped through the
 *       {@code SSLEngine} API.
 * </ul>
 *
 * The JDK engine is thus the leaner one at rest, on either side, but it allocates 16-20x more
 * and streams slower (SunJCE copies direct buffers into fresh heap arrays per record; the JDK
 * engine on the client alone cut the stream from 234 to 136 MiB/s), so Conscrypt stays the
 * default on both sides. A server or client holding very many mostly idle TLS connections can
 * choose {@code jdk}, for that side only if it likes ({@value
 * TlsHandshakers#SERVER_PROVIDER_PROPERTY}, {@value TlsHandshakers#CLIENT_PROVIDER_PROPERTY}).
 * Session caches are bounded either way ({@link TlsSessionCaches}).
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
   * The provider shared by both sides when no side property is set: what {@value
   * TlsHandshakers#PROVIDER_PROPERTY} asks for, or the default.
   *
   * @throws IllegalArgumentException if the property names no provider, or names Conscrypt and
   *     Conscrypt cannot load
   */
  static TlsProvider selected() {
    return parse(TlsHandshakers.PROVIDER_PROPERTY,
        System.getProperty(TlsHandshakers.PROVIDER_PROPERTY, ""));
  }

  /**
   * The provider for one side: its own property ({@value TlsHandshakers#CLIENT_PROVIDER_PROPERTY}
   * or {@value TlsHandshakers#SERVER_PROVIDER_PROPERTY}) when set, else {@link #selected()}.
   *
   * @throws IllegalArgumentException if the deciding property names no provider, or names
   *     Conscrypt and Conscrypt cannot load
   */
  static TlsProvider selected(boolean client) {
    String property =
        client ? TlsHandshakers.CLIENT_PROVIDER_PROPERTY : TlsHandshakers.SERVER_PROVIDER_PROPERTY;
    String value = System.getProperty(property, "");
    return value.trim().isEmpty() ? selected() : parse(property, value);
  }

  private static TlsProvider parse(String property, String raw) {
    String value = raw.trim();
    switch (value.toLowerCase(Locale.ROOT)) {
      case "":
        return ConscryptSupport.unavailableReason() == null ? CONSCRYPT : JDK;
      case "jdk":
        return JDK;
      case "conscrypt":
        String reason = ConscryptSupport.unavailableReason();
        if (reason != null) {
          throw new IllegalArgumentException(
              property + "=conscrypt, but Conscrypt is unavailable: " + reason);
        }
        return CONSCRYPT;
      default:
        throw new IllegalArgumentException(
            property + " must be \"jdk\" or \"conscrypt\"; got \"" + value + "\"");
    }
  }
}
