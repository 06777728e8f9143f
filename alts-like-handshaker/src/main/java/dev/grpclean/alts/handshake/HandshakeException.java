package dev.grpclean.alts.handshake;

import java.security.GeneralSecurityException;

/**
 * An ALTS-like handshake failed; the message says why, fit for a status description.
 *
 * <p>Thread-safe (immutable).
 */
public final class HandshakeException extends GeneralSecurityException {
  private static final long serialVersionUID = 1L;

  public HandshakeException(String message) {
    super(message);
  }

  public HandshakeException(String message, Throwable cause) {
    super(message, cause);
  }
}
