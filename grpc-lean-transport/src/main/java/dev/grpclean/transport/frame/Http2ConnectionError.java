package dev.grpclean.transport.frame;

import static java.util.Objects.requireNonNull;

/**
 * A connection error (RFC 9113 §5.4.1): the connection sends GOAWAY with {@link #code()} and
 * closes.
 *
 * <p>Immutable after construction; thread-safe.
 */
public final class Http2ConnectionError extends Exception {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;

  public Http2ConnectionError(ErrorCode code, String message) {
    super(message);
    this.code = requireNonNull(code, "code");
  }

  public Http2ConnectionError(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = requireNonNull(code, "code");
  }

  /** The code to send in GOAWAY. */
  public ErrorCode code() {
    return code;
  }

  @Override
  public String toString() {
    return "Http2ConnectionError(" + code + "): " + getMessage();
  }
}
