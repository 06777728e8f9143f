package dev.grpclean.interop;

/**
 * A transport that refuses the chosen security mode: grpc-netty and grpc-okhttp never speak our
 * ALTS-like handshake, and the lean transport refuses a mode it does not support yet. The runners
 * print it as {@code UNSUPPORTED} and count it as neither passed nor failed, so a missing feature
 * never reads as a pass.
 *
 * <p>Immutable.
 */
final class UnsupportedSecurityException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  UnsupportedSecurityException(String message, Throwable cause) {
    super(message, cause);
  }
}
