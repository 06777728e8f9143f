package dev.grpclean.transport.tls;

import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.annotation.Nullable;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * Builds the {@link SSLContext} that grpc's TLS credentials describe: key managers given, or made
 * from PEM; trust managers given, or made from PEM roots, or the JVM's default trust store (a
 * client's view of servers only: a server that asks for client certificates must name roots),
 * with session caches bounded by {@link TlsSessionCaches}.
 *
 * <p>Stateless; thread-safe.
 */
final class TlsContexts {
  /** Protects the in-memory key store only; it never leaves this class. */
  private static final char[] IN_MEMORY_PASSWORD = "grpc-lean".toCharArray();

  private TlsContexts() {}

  static SSLContext client(TlsChannelCredentials creds, TlsProvider provider)
      throws GeneralSecurityException {
    KeyManager[] keys = keyManagers(creds.getKeyManagers(), creds.getCertificateChain(),
        creds.getPrivateKey(), creds.getPrivateKeyPassword());
    TrustManager[] trust = trustManagers(creds.getTrustManagers(), creds.getRootCertificates());
    return TlsSessionCaches.client(provider.newContext(keys, trust));
  }

  static SSLContext server(TlsServerCredentials creds, TlsProvider provider)
      throws GeneralSecurityException {
    KeyManager[] keys = keyManagers(creds.getKeyManagers(), creds.getCertificateChain(),
        creds.getPrivateKey(), creds.getPrivateKeyPassword());
    if (keys == null) {
      throw new GeneralSecurityException("TLS server credentials carry no key material");
    }
    if (creds.getClientAuth() != TlsServerCredentials.ClientAuth.NONE
        && creds.getTrustManagers() == null && creds.getRootCertificates() == null) {
      // The JVM's default store trusts the public Web PKI: any holder of a certificate from a
      // public CA would be an authenticated client.
      throw new GeneralSecurityException("TLS server asks for client certificates (clientAuth "
          + creds.getClientAuth() + ") but has no trust manager or root certificates to verify"
          + " them with; set trustManager(...) to the CA that issues your clients' certificates"
          + " (the JVM's default CA store is not used for client identities)");
    }
    TrustManager[] trust = trustManagers(creds.getTrustManagers(), creds.getRootCertificates());
    return TlsSessionCaches.server(provider.newContext(keys, trust));
  }

  /** Null when there is no key material (a client without a certificate). */
  @Nullable
  private static KeyManager[] keyManagers(@Nullable List<KeyManager> given,
      @Nullable byte[] chainPem, @Nullable byte[] keyPem, @Nullable String password)
      throws GeneralSecurityException {
    if (given != null) {
      return given.toArray(new KeyManager[0]);
    }
    if (keyPem == null) {
      return null;
    }
    X509Certificate[] chain;
    PrivateKey key;
    try {
      chain = Pem.certificates(chainPem);
      key = Pem.privateKey(keyPem, password, chain[0]);
    } catch (GeneralSecurityException e) {
      throw new GeneralSecurityException("cannot load the TLS key material: " + e.getMessage(), e);
    }
    KeyStore store = emptyKeyStore();
    store.setKeyEntry("key", key, IN_MEMORY_PASSWORD, chain);
    KeyManagerFactory factory =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    factory.init(store, IN_MEMORY_PASSWORD);
    return factory.getKeyManagers();
  }

  private static TrustManager[] trustManagers(@Nullable List<TrustManager> given,
      @Nullable byte[] rootsPem) throws GeneralSecurityException {
    if (given != null) {
      return given.toArray(new TrustManager[0]);
    }
    KeyStore store = null;
    if (rootsPem != null) {
      X509Certificate[] roots;
      try {
        roots = Pem.certificates(rootsPem);
      } catch (GeneralSecurityException e) {
        throw new GeneralSecurityException(
            "cannot load the TLS root certificates: " + e.getMessage(), e);
      }
      store = emptyKeyStore();
      for (int i = 0; i < roots.length; i++) {
        store.setCertificateEntry("root-" + i, roots[i]);
      }
    }
    // A null store means the JVM's default trust store (cacerts).
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    return factory.getTrustManagers();
  }

  private static KeyStore emptyKeyStore() throws GeneralSecurityException {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    try {
      store.load(null, null);
    } catch (java.io.IOException e) {
      throw new GeneralSecurityException("cannot create an in-memory key store", e);
    }
    return store;
  }
}
