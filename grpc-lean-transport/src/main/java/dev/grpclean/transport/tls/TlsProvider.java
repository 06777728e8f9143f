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
 * cores, one run each, medians of 3; {@code lean-jdkserver} is lean with the JDK engine on the
 * server only; idle: {@code compare idle --security tls --baseline-connections 500 --connections
 * 1000}, marginal cost per idle connection, heap + RSS outside the heap):
 *
 * <pre>
 *                                          lean (Conscrypt)  lean-jdkserver   Netty
 *   stream 1 MiB messages, MiB/s                      315          191        88-246
 *     server CPU / MiB                             1,167 us     2,268 us     3,691 us
 *     server allocated / MiB                         5.8 KiB      238 KiB       31 KiB
 *   unary, server CPU / RPC                           80 us       112 us       147 us
 *   idle, server heap + native / conn               26.9 KiB     30.7 KiB     25.9 KiB
 *     (a later run, keys shared as below)          20.3 KiB                  28.7 KiB
 *     of which heap                                  3.0 KiB     14.3 KiB      9.4 KiB
 *   idle, client heap + native / conn               41.8 KiB     (Conscrypt)  60.4 KiB
 * </pre>
 *
 * (A plaintext lean server measures 1.9 KiB of heap and 9.3 KiB outside the heap per idle
 * connection in the same harness: JIT arenas, malloc and socket state, not TLS. The JDK engine on
 * the client alone, measured earlier: 136 instead of 234 MiB/s streamed, 27.6 instead of 55 KiB
 * per idle connection.) What an idle TLS connection holds ({@code jmap -histo} at 500 and 1,500
 * connections, JOL on the engine's object graph, heaptrack for malloc):
 *
 * <ul>
 *   <li>Conscrypt, either side: ~0.8 KiB of heap (engine, session and parameter objects, a
 *       finalizer) and 2 x 17,416 bytes malloc'd for the BoringSSL BIO pair that every {@code
 *       ConscryptEngine} creates in its constructor ({@code SSL_BIO_new} with the default size) and
 *       frees only when closed; Conscrypt has no call to size, shrink or release it, and no
 *       non-blocking engine without it. Beyond it, BoringSSL's own state: ~3.6 KiB malloc'd on a
 *       client, roughly 14 KiB on a server (SSL, its certificate chain buffers and session), of
 *       which ~5 KiB was the server's private key parsed anew at each handshake until keys went
 *       through {@link ConscryptKeyManager} (converted once, shared by every connection).
 *       Only the BIO pages a connection has written are resident: 23-24 KiB outside the heap per
 *       idle server connection after a small RPC (17 with shared keys), all of the BIO pair after
 *       a 64 KiB one.
 *   <li>JDK engine on a server: ~5.5 KiB of heap when the client does a full handshake (session,
 *       two AES-GCM ciphers with their key schedules, traffic secrets, record state, the peer's
 *       signature-scheme list, and 1.2 KiB of handshake transcript still holding the TLS 1.3
 *       ticket it sent). When the client resumes (every Conscrypt or BoringSSL client reconnecting
 *       to the same server does), the session decoded from the stateless ticket brings a freshly
 *       parsed copy of the server's own certificate: ~12.4 KiB in all. None of it can be dropped
 *       through the {@code SSLEngine} API. The JVM-wide {@code
 *       -Djdk.tls.server.enableSessionTicketExtension=false} (read when a context is created)
 *       avoids both the copy and the ticket in the transcript: resumption then goes through the
 *       server's bounded session cache, whose entries are the connections' own sessions; with it
 *       the server held 5.8 KiB of heap and 12.3 KiB heap + native per idle connection under the
 *       same resuming clients (one run).
 *   <li>JDK engine on a client: ~7 KiB of heap, including the resumption session its ticket made,
 *       kept as a child of the connection's session.
 * </ul>
 *
 * The JDK engine is leaner at rest only on a client, or on a server whose clients do not resume;
 * it costs twice the server CPU per streamed MiB and 40 % of the stream's throughput, so
 * Conscrypt stays the default on both sides. A server or client holding very many mostly idle TLS
 * connections can choose {@code jdk}, for that side only if it likes ({@value
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
      KeyManager[] engineKeys = Boolean.parseBoolean(
              System.getProperty(CONSCRYPT_NATIVE_KEYS_PROPERTY, "true"))
          ? ConscryptKeyManager.wrap(keys, ConscryptSupport.provider())
          : keys;
      context.init(engineKeys, forConscrypt(trust), new SecureRandom());
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

  /**
   * {@code false} hands Conscrypt the key managers' keys as they are, parsed again at every
   * handshake, instead of converting each once ({@link ConscryptKeyManager}); read when
   * credentials are converted. For measuring what the conversion saves, and a way back should a
   * key manager misbehave behind the wrapper.
   */
  static final String CONSCRYPT_NATIVE_KEYS_PROPERTY = "grpclean.tls.conscryptNativeKeys";

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
