package dev.grpclean.transport.frame;

/**
 * HTTP/2 error codes (RFC 9113 §7), carried by RST_STREAM and GOAWAY.
 *
 * <p>Immutable; thread-safe.
 */
public enum ErrorCode {
  NO_ERROR(0x0),
  PROTOCOL_ERROR(0x1),
  INTERNAL_ERROR(0x2),
  FLOW_CONTROL_ERROR(0x3),
  SETTINGS_TIMEOUT(0x4),
  STREAM_CLOSED(0x5),
  FRAME_SIZE_ERROR(0x6),
  REFUSED_STREAM(0x7),
  CANCEL(0x8),
  COMPRESSION_ERROR(0x9),
  CONNECT_ERROR(0xa),
  ENHANCE_YOUR_CALM(0xb),
  INADEQUATE_SECURITY(0xc),
  HTTP_1_1_REQUIRED(0xd);

  /** Indexed by code; the codes are dense from 0, so {@code values()} order is code order. */
  private static final ErrorCode[] BY_CODE = values();

  private final int code;

  ErrorCode(int code) {
    this.code = code;
  }

  /** The 32-bit code as it appears on the wire. */
  public int code() {
    return code;
  }

  /**
   * Returns the error code for a wire value. RFC 9113 §7: unknown or unsupported codes "MUST NOT
   * trigger any special behavior" and may be treated as INTERNAL_ERROR, which is what this does.
   *
   * @param code the unsigned 32-bit value from the wire
   */
  public static ErrorCode forCode(long code) {
    if (code >= 0 && code < BY_CODE.length) {
      return BY_CODE[(int) code];
    }
    return INTERNAL_ERROR;
  }
}
