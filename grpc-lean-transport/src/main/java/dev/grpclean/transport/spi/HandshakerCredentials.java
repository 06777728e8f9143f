package dev.grpclean.transport.spi;

/**
 * Implemented by {@code io.grpc.ChannelCredentials} / {@code io.grpc.ServerCredentials}
 * subclasses that the lean transport can use directly: the credentials reduce to a
 * {@link HandshakerFactory}. Other modules (the ALTS-like handshaker) plug in this way, so the
 * transport needs no dependency on them.
 *
 * <p>Implementations are immutable and thread-safe.
 */
public interface HandshakerCredentials {
  /** A factory for one side's handshakers. {@code client} tells which side is asking. */
  HandshakerFactory handshakerFactory(boolean client);
}
