package dev.grpclean.transport.spi;

import java.net.SocketAddress;

/**
 * Creates a {@link Handshaker} per connection. The transport's security seam: credentials that
 * the lean transport understands (its own ALTS-like credentials, TLS) reduce to one of these.
 *
 * <p>Thread-safe.
 */
public interface HandshakerFactory {
  /**
   * @param authority the authority the client is connecting to (client side), or null (server)
   * @param remote the peer's address
   */
  Handshaker newHandshaker(String authority, SocketAddress remote);

  /** Scheme for request headers: "https" for secure factories. */
  default String scheme() {
    return "https";
  }
}
