package dev.grpclean.transport.frame;

import java.nio.ByteBuffer;

/**
 * Explains a client preface mismatch (RFC 9113 §3.4) in terms an operator can act on: the usual
 * causes are an HTTP/1.x client or a TLS client talking to a plaintext HTTP/2 port.
 *
 * <p>Stateless; thread-safe.
 */
final class Preface {
  /** Bytes of the offending input quoted in the message; enough for an HTTP/1.x request line. */
  private static final int MAX_QUOTED_BYTES = 64;
  /** TLS record type of a handshake message, the first byte a TLS client sends (RFC 8446 §5.1). */
  private static final int TLS_HANDSHAKE = 0x16;

  private Preface() {}

  /**
   * Returns the error for a preface whose byte at {@code in.position()} is wrong, after {@code
   * matched} correct bytes. Does not move {@code in}.
   */
  static Http2ConnectionError mismatch(ByteBuffer in, int matched) {
    byte[] preface = FrameType.CONNECTION_PREFACE;
    int pos = in.position();
    int got = in.get(pos) & 0xFF;
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < matched; i++) {
      text.append((char) preface[i]);
    }
    boolean printable = true;
    for (int i = pos; i < in.limit() && text.length() < MAX_QUOTED_BYTES; i++) {
      int c = in.get(i) & 0xFF;
      if (c == '\r' || c == '\n') {
        break;
      }
      if (c < 0x20 || c > 0x7E) {
        printable = false;
        break;
      }
      text.append((char) c);
    }
    String why;
    if (matched == 0 && got == TLS_HANDSHAKE) {
      why = "received what looks like a TLS handshake, not HTTP/2 prior knowledge"
          + " (is a TLS client talking to a plaintext port?)";
    } else if (printable && looksLikeHttp1(text)) {
      why = "received \"" + text + "\", which looks like an HTTP/1.x request, not HTTP/2";
    } else {
      why = String.format("byte %d is 0x%02x, expected 0x%02x; not an HTTP/2 client", matched,
          got, preface[matched]);
    }
    return new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, "Invalid client preface: " + why);
  }

  /** A request line such as "GET / HTTP/1.1", or the start of one ("POST /x"). */
  private static boolean looksLikeHttp1(CharSequence line) {
    if (line.toString().contains(" HTTP/1.")) {
      return true;
    }
    int i = 0;
    while (i < line.length() && line.charAt(i) >= 'A' && line.charAt(i) <= 'Z') {
      i++;
    }
    return i >= 3 && i < line.length() && line.charAt(i) == ' ';
  }
}
