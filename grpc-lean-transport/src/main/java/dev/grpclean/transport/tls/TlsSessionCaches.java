package dev.grpclean.transport.tls;

import java.util.Locale;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSessionContext;

/**
 * Bounds the session caches of the contexts we create. The JDK's defaults are 20,480 sessions
 * kept for 24 hours per side (Conscrypt's: 8 hours, and BoringSSL's own server cache, which
 * Conscrypt's Java API does not size, is emptied of expired sessions by its timeout only), so a
 * server that saw many clients would hold their sessions (peer certificates, secrets, tickets)
 * long after the connections went. Resumption is for a client that reconnects soon after losing
 * its connection, which a few minutes' timeout and a cache of the recent sessions serve.
 *
 * <p>Defaults: {@value #DEFAULT_SERVER_SIZE} sessions and {@value #DEFAULT_TIMEOUT_SECONDS} s on
 * a server, {@value #DEFAULT_CLIENT_SIZE} sessions and the same timeout on a client (a channel
 * talks to one authority; a client context serves the channels of one credentials object).
 * Changed by the system properties {@value #SERVER_SIZE_PROPERTY}, {@value #CLIENT_SIZE_PROPERTY}
 * and {@value #TIMEOUT_PROPERTY} (seconds), read when credentials are converted; 0 means
 * "unbounded" as in {@link SSLSessionContext}.
 *
 * <p>Stateless; thread-safe.
 */
final class TlsSessionCaches {
  static final String SERVER_SIZE_PROPERTY = "grpclean.tls.serverSessionCacheSize";
  static final String CLIENT_SIZE_PROPERTY = "grpclean.tls.clientSessionCacheSize";
  static final String TIMEOUT_PROPERTY = "grpclean.tls.sessionTimeoutSeconds";
  static final int DEFAULT_SERVER_SIZE = 1024;
  static final int DEFAULT_CLIENT_SIZE = 64;
  static final int DEFAULT_TIMEOUT_SECONDS = 300;

  private TlsSessionCaches() {}

  /** Sizes a server context's cache; returns the context. */
  static SSLContext server(SSLContext context) {
    bound(context.getServerSessionContext(), SERVER_SIZE_PROPERTY, DEFAULT_SERVER_SIZE);
    return context;
  }

  /** Sizes a client context's cache; returns the context. */
  static SSLContext client(SSLContext context) {
    bound(context.getClientSessionContext(), CLIENT_SIZE_PROPERTY, DEFAULT_CLIENT_SIZE);
    return context;
  }

  private static void bound(SSLSessionContext sessions, String sizeProperty, int defaultSize) {
    sessions.setSessionCacheSize(nonNegative(sizeProperty, defaultSize));
    sessions.setSessionTimeout(nonNegative(TIMEOUT_PROPERTY, DEFAULT_TIMEOUT_SECONDS));
  }

  /**
   * The property's value, or {@code defaultValue} when unset.
   *
   * @throws IllegalArgumentException if it is set to anything but a non-negative integer
   */
  static int nonNegative(String property, int defaultValue) {
    String value = System.getProperty(property, "").trim();
    if (value.isEmpty()) {
      return defaultValue;
    }
    int parsed;
    try {
      parsed = Integer.parseInt(value);
    } catch (NumberFormatException e) {
      parsed = -1;
    }
    if (parsed < 0) {
      throw new IllegalArgumentException(String.format(Locale.ROOT,
          "%s must be a non-negative integer (0: unbounded); got \"%s\"", property, value));
    }
    return parsed;
  }
}
