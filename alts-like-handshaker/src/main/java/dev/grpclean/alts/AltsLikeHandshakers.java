package dev.grpclean.alts;

import dev.grpclean.alts.handshake.AltsLikeHandshakerFactory;
import dev.grpclean.alts.handshake.HandshakeOptions;
import dev.grpclean.transport.spi.HandshakerFactory;

/**
 * The handshake options of one {@link AltsLikeChannelCredentials} or {@link
 * AltsLikeServerCredentials} and the client- and server-side handshaker factories made from them.
 * Thread-safe (immutable).
 */
final class AltsLikeHandshakers {
  private final HandshakeOptions options;
  private final AltsLikeHandshakerFactory clientFactory;
  private final AltsLikeHandshakerFactory serverFactory;

  AltsLikeHandshakers(HandshakeOptions options) {
    this.options = options;
    this.clientFactory = new AltsLikeHandshakerFactory(options, true);
    this.serverFactory = new AltsLikeHandshakerFactory(options, false);
  }

  /** This side's identity. */
  AltsLikeIdentity identity() {
    return options.identity();
  }

  /** The factory for the client or the server side of a connection. */
  HandshakerFactory factory(boolean client) {
    return client ? clientFactory : serverFactory;
  }
}
