package dev.grpclean.transport.frame;

import static java.util.Objects.requireNonNull;

/**
 * A stream error (RFC 9113 §5.4.2): only {@link #streamId()} is reset with RST_STREAM carrying
 * {@link #code()}; the connection stays up.
 *
 * <p>Immutable after construction; thread-safe.
 */
public final class Http2StreamError extends Exception {
  private static final long serialVersionUID = 1L;

  private final int streamId;
  private final ErrorCode code;

  public Http2StreamError(int streamId, ErrorCode code, String message) {
    super(message);
    this.streamId = streamId;
    this.code = requireNonNull(code, "code");
  }

  public Http2StreamError(int streamId, ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.streamId = streamId;
    this.code = requireNonNull(code, "code");
  }

  /** The stream to reset; never 0. */
  public int streamId() {
    return streamId;
  }

  /** The code to send in RST_STREAM. */
  public ErrorCode code() {
    return code;
  }

  @Override
  public String toString() {
    return "Http2StreamError(stream " + streamId + ", " + code + "): " + getMessage();
  }
}
