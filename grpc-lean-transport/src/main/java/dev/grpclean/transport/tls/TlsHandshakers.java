package dev.grpclean.transport.tls;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import dev.grpclean.transport.spi.HandshakerFactory;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import java.security.GeneralSecurityException;
import java.util.EnumSet;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;
import javax.net.ssl.TrustManager;

/**
 * Reduces grpc's {@link TlsChannelCredentials} / {@link TlsServerCredentials} to the transport's
 * {@link HandshakerFactory}: TLS over an {@code SSLEngine}, ALPN "h2" required on both sides.
 *
 * <p>Understood: PEM key material or key managers, PEM roots or trust managers (the JVM's
 * trust store when neither is given), and {@link TlsServerCredentials.ClientAuth} for mutual TLS.
 * A credentials object that needs more ({@code incomprehensible(...)} not empty) is refused with
 * the features named, as grpc-netty and grpc-okhttp do.
 *
 * <p>The engine provider is chosen by the system property {@value #PROVIDER_PROPERTY}
 * ({@code jdk} or {@code conscrypt}; unset: Conscrypt when it loads, else the JDK), or per side by
 * {@value #SERVER_PROVIDER_PROPERTY} / {@value #CLIENT_PROVIDER_PROPERTY}, read when the
 * credentials are converted.
 *
 * <p>Client factories are kept per credentials object (by identity, while the application holds
 * it): a channel per target built from one {@link TlsChannelCredentials} shares one {@code
 * SSLContext}, so its trust managers, parsed root certificates and session cache exist once, not
 * once per channel (measured: ~9 KiB of heap per idle JDK-engine channel), and a second channel
 * to the same server can resume the first one's session as with a shared Netty {@code
 * SslContext}.
 *
 * <p>Thread-safe.
 */
public final class TlsHandshakers {
  /** System property choosing the TLS provider: {@code jdk} or {@code conscrypt}. */
  public static final String PROVIDER_PROPERTY = "grpclean.tls.provider";
  /** The provider for servers only, overriding {@value #PROVIDER_PROPERTY} when set. */
  public static final String SERVER_PROVIDER_PROPERTY = "grpclean.tls.serverProvider";
  /** The provider for channels only, overriding {@value #PROVIDER_PROPERTY} when set. */
  public static final String CLIENT_PROVIDER_PROPERTY = "grpclean.tls.clientProvider";

  private static final Logger log = Logger.getLogger(TlsHandshakers.class.getName());
  private static final Set<TlsChannelCredentials.Feature> CLIENT_FEATURES = EnumSet.of(
      TlsChannelCredentials.Feature.MTLS, TlsChannelCredentials.Feature.CUSTOM_MANAGERS);
  private static final Set<TlsServerCredentials.Feature> SERVER_FEATURES = EnumSet.of(
      TlsServerCredentials.Feature.MTLS, TlsServerCredentials.Feature.CUSTOM_MANAGERS);

  /**
   * Client factories by credentials object. Weak keys compare by identity; the factory refers to
   * what the credentials hold (managers, key material), never to the credentials themselves, so
   * an entry goes once the application drops its credentials.
   */
  private static final Cache<TlsChannelCredentials, TlsHandshakerFactory> CLIENT_FACTORIES =
      CacheBuilder.newBuilder().weakKeys().build();

  /** What a channel without credentials that did not ask for plaintext uses: the JVM's roots. */
  private static final TlsChannelCredentials DEFAULT_CLIENT =
      (TlsChannelCredentials) TlsChannelCredentials.create();

  private TlsHandshakers() {}

  /**
   * TLS with the JVM's default trust store, for channels given no credentials: one factory for
   * all of them (the default store holds ~150 roots; parsing it per channel would cost time and
   * heap).
   */
  public static HandshakerFactory forDefaultClient() {
    return forClient(DEFAULT_CLIENT);
  }

  /** Why these credentials cannot be used, or null if they can. */
  @Nullable
  public static String unsupportedReason(TlsChannelCredentials creds) {
    Set<TlsChannelCredentials.Feature> missing = creds.incomprehensible(CLIENT_FEATURES);
    return missing.isEmpty() ? providerProblem(true) : "TLS features not understood: " + missing;
  }

  /** Why these credentials cannot be used, or null if they can. */
  @Nullable
  public static String unsupportedReason(TlsServerCredentials creds) {
    Set<TlsServerCredentials.Feature> missing = creds.incomprehensible(SERVER_FEATURES);
    return missing.isEmpty() ? providerProblem(false) : "TLS features not understood: " + missing;
  }

  /**
   * The client side of TLS for a channel.
   *
   * @throws IllegalArgumentException if the credentials are unsupported or their key material
   *     does not load
   */
  public static HandshakerFactory forClient(TlsChannelCredentials creds) {
    String reason = unsupportedReason(creds);
    if (reason != null) {
      throw new IllegalArgumentException(reason);
    }
    TlsProvider provider = TlsProvider.selected(true);
    if (creds.getTrustManagers() != null
        && !provider.checksHostnames(creds.getTrustManagers().toArray(new TrustManager[0]))) {
      log.log(Level.FINE, "a plain X509TrustManager cannot check hostnames under {0}; using {1}",
          new Object[] {provider, TlsProvider.JDK});
      provider = TlsProvider.JDK;
    }
    TlsHandshakerFactory cached = CLIENT_FACTORIES.getIfPresent(creds);
    if (cached != null && cached.provider() == provider) {
      return cached;
    }
    TlsHandshakerFactory factory;
    try {
      factory = logged(TlsHandshakerFactory.client(TlsContexts.client(creds, provider), provider));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot create the TLS context: " + e.getMessage(), e);
    }
    // Two threads converting the same credentials at once may both build one; either will do.
    CLIENT_FACTORIES.put(creds, factory);
    return factory;
  }

  /**
   * The server side of TLS for a server.
   *
   * @throws IllegalArgumentException if the credentials are unsupported or their key material
   *     does not load
   */
  public static HandshakerFactory forServer(TlsServerCredentials creds) {
    String reason = unsupportedReason(creds);
    if (reason != null) {
      throw new IllegalArgumentException(reason);
    }
    TlsProvider provider = TlsProvider.selected(false);
    try {
      return logged(TlsHandshakerFactory.server(
          TlsContexts.server(creds, provider), provider, creds.getClientAuth()));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot create the TLS context: " + e.getMessage(), e);
    }
  }

  /**
   * The provider that channel credentials converted now would use: {@code "jdk"} or {@code
   * "conscrypt"}.
   *
   * @throws IllegalArgumentException if the deciding property is invalid or unsatisfiable
   */
  public static String providerName() {
    return providerName(true);
  }

  /**
   * The provider that credentials of this side converted now would use: {@code "jdk"} or {@code
   * "conscrypt"}.
   *
   * @throws IllegalArgumentException if the deciding property is invalid or unsatisfiable
   */
  public static String providerName(boolean client) {
    return TlsProvider.selected(client).name().toLowerCase(java.util.Locale.ROOT);
  }

  @Nullable
  private static String providerProblem(boolean client) {
    try {
      TlsProvider.selected(client);
      return null;
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  private static TlsHandshakerFactory logged(TlsHandshakerFactory factory) {
    log.log(Level.FINE, "grpc-lean TLS uses the {0} provider", factory.provider());
    return factory;
  }
}
