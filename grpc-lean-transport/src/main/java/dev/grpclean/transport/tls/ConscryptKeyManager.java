package dev.grpclean.transport.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import javax.annotation.Nullable;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Hands Conscrypt's engine private keys it already holds natively. Given a JCA key (what a key
 * store or PEM file yields), Conscrypt parses its PKCS#8 encoding into a new BoringSSL key at
 * every handshake that presents the certificate, and that SSL keeps the key (with the Montgomery
 * contexts its first signature builds) until the connection closes: heaptrack counted ~80
 * allocations and ~5 KiB malloc'd more per server connection than with a key parsed once. Here
 * each alias's key is converted once by Conscrypt's own {@link KeyFactory}, whose keys Conscrypt
 * uses as they are, and shared by every connection; the conversion is redone only when the
 * delegate returns a different key for the alias (rotation). A key that cannot be converted (no
 * PKCS#8 encoding, e.g. a hardware key, or an algorithm Conscrypt lacks) is passed on unchanged.
 * Everything else is the delegate's.
 *
 * <p>Thread-safe if the delegate is: handshakes on every loop thread share one instance.
 */
final class ConscryptKeyManager extends X509ExtendedKeyManager {
  private final X509ExtendedKeyManager delegate;
  private final Provider conscrypt;
  /** Alias to its key as last converted; one entry per alias the delegate has served. */
  private final ConcurrentMap<String, Converted> keys = new ConcurrentHashMap<>();

  /** A delegate's key and what it became. */
  private record Converted(PrivateKey source, PrivateKey converted) {}

  ConscryptKeyManager(X509ExtendedKeyManager delegate, Provider conscrypt) {
    this.delegate = delegate;
    this.conscrypt = conscrypt;
  }

  /**
   * {@code keys} with every {@link X509ExtendedKeyManager} wrapped (null stays null; other key
   * managers, which Conscrypt does not use for engines, stay as they are).
   */
  @Nullable
  static KeyManager[] wrap(@Nullable KeyManager[] keys, Provider conscrypt) {
    if (keys == null) {
      return null;
    }
    KeyManager[] mapped = keys.clone();
    for (int i = 0; i < mapped.length; i++) {
      if (mapped[i] instanceof X509ExtendedKeyManager
          && !(mapped[i] instanceof ConscryptKeyManager)) {
        mapped[i] = new ConscryptKeyManager((X509ExtendedKeyManager) mapped[i], conscrypt);
      }
    }
    return mapped;
  }

  @Override
  @Nullable
  public PrivateKey getPrivateKey(String alias) {
    PrivateKey source = delegate.getPrivateKey(alias);
    if (source == null || alias == null) {
      return source;
    }
    Converted known = keys.get(alias);
    // A key store's manager may decode a new but equal key object per call.
    if (known != null && (known.source() == source || known.source().equals(source))) {
      return known.converted();
    }
    Converted fresh = new Converted(source, convert(source));
    keys.put(alias, fresh);
    return fresh.converted();
  }

  /** Conscrypt's native form of {@code key}, or {@code key} itself if it has none. */
  private PrivateKey convert(PrivateKey key) {
    if (key.getClass().getName().startsWith("org.conscrypt.")) {
      return key;
    }
    byte[] encoded = "PKCS#8".equals(key.getFormat()) ? key.getEncoded() : null;
    if (encoded == null) {
      return key;
    }
    try {
      return KeyFactory.getInstance(key.getAlgorithm(), conscrypt)
          .generatePrivate(new PKCS8EncodedKeySpec(encoded));
    } catch (GeneralSecurityException | RuntimeException e) {
      // Conscrypt's engine copes with the key as before, per handshake.
      return key;
    }
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return delegate.getCertificateChain(alias);
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return delegate.getClientAliases(keyType, issuers);
  }

  @Override
  public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
    return delegate.chooseClientAlias(keyTypes, issuers, socket);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers,
      SSLEngine engine) {
    return delegate.chooseEngineClientAlias(keyTypes, issuers, engine);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return delegate.getServerAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return delegate.chooseServerAlias(keyType, issuers, socket);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return delegate.chooseEngineServerAlias(keyType, issuers, engine);
  }
}
