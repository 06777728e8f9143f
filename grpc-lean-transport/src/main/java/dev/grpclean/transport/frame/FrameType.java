package dev.grpclean.transport.frame;

import java.nio.charset.StandardCharsets;

/**
 * Frame type codes, flags and protocol-wide sizes of RFC 9113 §4 and §6.
 *
 * <p>Constants only; thread-safe.
 */
public final class FrameType {
  // RFC 9113 §6: frame type codes.
  public static final byte DATA = 0x0;
  public static final byte HEADERS = 0x1;
  public static final byte PRIORITY = 0x2;
  public static final byte RST_STREAM = 0x3;
  public static final byte SETTINGS = 0x4;
  public static final byte PUSH_PROMISE = 0x5;
  public static final byte PING = 0x6;
  public static final byte GOAWAY = 0x7;
  public static final byte WINDOW_UPDATE = 0x8;
  public static final byte CONTINUATION = 0x9;

  // RFC 9113 §6: flags. ACK shares its bit with END_STREAM (SETTINGS and PING only).
  public static final byte END_STREAM = 0x1;
  public static final byte ACK = 0x1;
  public static final byte END_HEADERS = 0x4;
  public static final byte PADDED = 0x8;
  public static final byte PRIORITY_FLAG = 0x20;

  /** Bytes of every frame header: 24-bit length, type, flags, 31-bit stream id (§4.1). */
  public static final int FRAME_HEADER_BYTES = 9;
  /** Bytes; every peer must accept frames this large before any SETTINGS (§4.2). */
  public static final int DEFAULT_MAX_FRAME_SIZE = 16384;
  /** Bytes; the largest SETTINGS_MAX_FRAME_SIZE allowed, the 24-bit length limit (§6.5.2). */
  public static final int MAX_ALLOWED_FRAME_SIZE = (1 << 24) - 1;
  /** Bytes; initial stream and connection flow-control window (§6.9.2). */
  public static final int DEFAULT_INITIAL_WINDOW = 65535;
  /** Bytes; the largest flow-control window, 2^31-1 (§6.9.1). */
  public static final int MAX_WINDOW = Integer.MAX_VALUE;

  /**
   * The 24-byte client connection preface (§3.4). Shared: never modify it; copy it into a
   * buffer with {@code put}.
   */
  public static final byte[] CONNECTION_PREFACE =
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private FrameType() {}

  /** A name for logs and error messages, e.g. "HEADERS" or "UNKNOWN(0x10)". */
  public static String name(int type) {
    switch (type) {
      case DATA: return "DATA";
      case HEADERS: return "HEADERS";
      case PRIORITY: return "PRIORITY";
      case RST_STREAM: return "RST_STREAM";
      case SETTINGS: return "SETTINGS";
      case PUSH_PROMISE: return "PUSH_PROMISE";
      case PING: return "PING";
      case GOAWAY: return "GOAWAY";
      case WINDOW_UPDATE: return "WINDOW_UPDATE";
      case CONTINUATION: return "CONTINUATION";
      default: return "UNKNOWN(0x" + Integer.toHexString(type & 0xff) + ")";
    }
  }
}
