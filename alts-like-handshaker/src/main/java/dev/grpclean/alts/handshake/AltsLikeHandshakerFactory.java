package dev.grpclean.alts.handshake;

import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.HandshakerFactory;
import java.net.SocketAddress;
import java.util.Objects;

/**
 * Makes one side's ALTS-like handshakers from fixed options. A client handshaker gets the
 * authority it connects to: a server certificate must name its host, and the peer verifier and
 * target-bound raw keys see it.
 *
 * <p>Thread-safe (immutable).
 */
public final class AltsLikeHandshakerFactory implements HandshakerFactory {
  private final HandshakeOptions options;
  private final boolean client;
  /** Server only: this factory's handshakes in progress, capped. */
  private final HandshakeLimiter limiter;

  public AltsLikeHandshakerFactory(HandshakeOptions options, boolean client) {
    this.options = Objects.requireNonNull(options, "options");
    this.client = client;
    this.limiter = new HandshakeLimiter(options.maxConcurrentHandshakes);
  }

  @Override
  public Handshaker newHandshaker(String authority, SocketAddress remote) {
    return client
        ? new ClientHandshaker(options, authority) : new ServerHandshaker(options, limiter);
  }

  public HandshakeOptions options() {
    return options;
  }

  public boolean client() {
    return client;
  }

  /** Server handshakes in progress now (started, neither done, failed nor closed). */
  public int handshakesInProgress() {
    return limiter.inProgress();
  }
}
