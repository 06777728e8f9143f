package dev.grpclean.transport.tls;

import com.google.common.net.InetAddresses;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.HandshakerFactory;
import io.grpc.TlsServerCredentials.ClientAuth;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.annotation.Nullable;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * A new {@link TlsHandshaker} per connection, from one {@link SSLContext}. Client engines verify
 * the server against the authority (RFC 2818 / RFC 6125 "HTTPS" endpoint identification, which
 * honours {@code overrideAuthority} because the channel passes the overridden authority) and send
 * it as SNI; server engines ask for or require a client certificate per {@link ClientAuth}. Both
 * offer only ALPN "h2" and the cipher suites RFC 9113 §9.2.2 allows.
 *
 * <p>Thread-safe: an {@link SSLContext} may create engines concurrently.
 */
final class TlsHandshakerFactory implements HandshakerFactory {
  private static final String[] ALPN = {TlsHandshaker.ALPN_H2};

  private final SSLContext context;
  private final TlsProvider provider;
  private final boolean client;
  /** Server only. */
  private final ClientAuth clientAuth;
  private final String[] cipherSuites;

  private TlsHandshakerFactory(SSLContext context, TlsProvider provider, boolean client,
      ClientAuth clientAuth) {
    this.context = context;
    this.provider = provider;
    this.client = client;
    this.clientAuth = clientAuth;
    this.cipherSuites = http2CipherSuites(context);
  }

  static TlsHandshakerFactory client(SSLContext context, TlsProvider provider) {
    return new TlsHandshakerFactory(context, provider, true, ClientAuth.NONE);
  }

  static TlsHandshakerFactory server(SSLContext context, TlsProvider provider,
      ClientAuth clientAuth) {
    return new TlsHandshakerFactory(context, provider, false, clientAuth);
  }

  /** The context engines come from (tests inspect its session caches). */
  SSLContext context() {
    return context;
  }

  /** The provider this factory's engines come from. */
  TlsProvider provider() {
    return provider;
  }

  /**
   * Never throws: a setup failure (an authority that is no host name, say) comes back as a
   * handshaker that fails at start, which the transport reports as a security failure.
   */
  @Override
  public Handshaker newHandshaker(String authority, SocketAddress remote) {
    try {
      SSLEngine engine = client ? clientEngine(authority) : serverEngine(remote);
      return new TlsHandshaker(new TlsEngine(engine));
    } catch (RuntimeException e) {
      return new TlsHandshaker(new GeneralSecurityException(
          "cannot set up TLS for " + (client ? authority : remote) + ": " + e.getMessage(), e));
    }
  }

  private SSLEngine clientEngine(String authority) {
    if (authority == null) {
      throw new IllegalArgumentException("a TLS client needs the server's authority");
    }
    String host = HostnameMatcher.hostOrEmpty(authority);
    int port = portOf(authority);
    SSLEngine engine = context.createSSLEngine(host, port);
    engine.setUseClientMode(true);
    SSLParameters params = commonParameters(engine);
    params.setEndpointIdentificationAlgorithm("HTTPS");
    if (!InetAddresses.isInetAddress(host)) {
      // RFC 6066 §3: SNI carries host names only, never address literals.
      params.setServerNames(Collections.singletonList(new SNIHostName(host)));
    }
    engine.setSSLParameters(params);
    provider.configure(engine);
    return engine;
  }

  private SSLEngine serverEngine(SocketAddress remote) {
    SSLEngine engine;
    if (remote instanceof InetSocketAddress) {
      // getHostString(): the peer's address as text, without a reverse DNS lookup.
      InetSocketAddress inet = (InetSocketAddress) remote;
      engine = context.createSSLEngine(inet.getHostString(), inet.getPort());
    } else {
      engine = context.createSSLEngine();
    }
    engine.setUseClientMode(false);
    SSLParameters params = commonParameters(engine);
    switch (clientAuth) {
      case REQUIRE:
        params.setNeedClientAuth(true);
        break;
      case OPTIONAL:
        params.setWantClientAuth(true);
        break;
      default:
        params.setNeedClientAuth(false);
        break;
    }
    engine.setSSLParameters(params);
    provider.configure(engine);
    return engine;
  }

  private SSLParameters commonParameters(SSLEngine engine) {
    SSLParameters params = engine.getSSLParameters();
    params.setApplicationProtocols(ALPN);
    if (cipherSuites.length > 0) {
      params.setCipherSuites(cipherSuites);
    }
    return params;
  }

  /**
   * Netty's list of RFC 9113 §9.2.2-acceptable suites that this context supports, in that list's
   * order; empty (keep the provider's defaults) if none is supported.
   */
  private static String[] http2CipherSuites(SSLContext context) {
    Set<String> supported = new HashSet<>(
        Arrays.asList(context.getSupportedSSLParameters().getCipherSuites()));
    List<String> suites = new ArrayList<>();
    for (String suite : Http2SecurityUtil.CIPHERS) {
      if (supported.contains(suite)) {
        suites.add(suite);
      }
    }
    return suites.toArray(new String[0]);
  }

  /** The port of {@code host[:port]}, or -1. */
  static int portOf(String authority) {
    URI uri = authorityUri(authority);
    return uri == null ? -1 : uri.getPort();
  }

  @Nullable
  private static URI authorityUri(String authority) {
    try {
      return new URI(null, authority, null, null, null);
    } catch (java.net.URISyntaxException e) {
      return null;
    }
  }
}
