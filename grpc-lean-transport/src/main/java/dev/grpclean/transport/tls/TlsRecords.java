package dev.grpclean.transport.tls;

import java.nio.ByteBuffer;
import javax.net.ssl.SSLException;

/**
 * The 5-byte TLS record header (RFC 8446 §5.1, RFC 5246 §6.2): enough parsing to hand the engine
 * one whole record at a time and to keep only an incomplete record's bytes, plus a readable error
 * when the peer does not speak TLS at all.
 *
 * <p>Stateless; thread-safe.
 */
final class TlsRecords {
  /** Content type (1), legacy version (2), length (2). */
  static final int HEADER_BYTES = 5;
  /**
   * RFC 5246 §6.2.3: a TLS 1.2 ciphertext fragment is at most 2^14 + 2048 bytes (TLS 1.3 allows
   * only 2^14 + 256, RFC 8446 §5.2). Longer is not TLS, and we must not buffer it.
   */
  static final int MAX_FRAGMENT_BYTES = (1 << 14) + 2048;
  /** RFC 8446 §5.1: at most 2^14 plaintext bytes per record. */
  static final int MAX_PLAINTEXT_FRAGMENT_BYTES = 1 << 14;

  private static final int TYPE_CHANGE_CIPHER_SPEC = 20;
  private static final int TYPE_HEARTBEAT = 24;

  private TlsRecords() {}

  /**
   * Total bytes (header included) of the record starting at {@code buf}'s position, or -1 if
   * fewer than {@link #HEADER_BYTES} bytes remain. Does not move the position.
   *
   * @throws SSLException if the bytes are not a TLS record header
   */
  static int recordBytes(ByteBuffer buf) throws SSLException {
    int p = buf.position();
    if (buf.limit() - p < HEADER_BYTES) {
      return -1;
    }
    return check(buf.get(p) & 0xff, buf.get(p + 1) & 0xff, buf.get(p + 3) & 0xff,
        ((buf.get(p + 3) & 0xff) << 8) | (buf.get(p + 4) & 0xff));
  }

  /** As {@link #recordBytes(ByteBuffer)}, for a header at {@code bytes[0..5)}. */
  static int recordBytes(byte[] bytes) throws SSLException {
    return check(bytes[0] & 0xff, bytes[1] & 0xff, bytes[3] & 0xff,
        ((bytes[3] & 0xff) << 8) | (bytes[4] & 0xff));
  }

  private static int check(int type, int major, int fourth, int length) throws SSLException {
    if (type < TYPE_CHANGE_CIPHER_SPEC || type > TYPE_HEARTBEAT || major != 3) {
      throw new SSLException(notTls(type, fourth));
    }
    if (length > MAX_FRAGMENT_BYTES) {
      throw new SSLException("TLS record of " + length + " bytes exceeds the "
          + MAX_FRAGMENT_BYTES + "-byte limit (RFC 5246 §6.2.3)");
    }
    return HEADER_BYTES + length;
  }

  private static String notTls(int first, int fourth) {
    if (first == 'P') {
      return "peer does not speak TLS: it sent what looks like a plaintext HTTP/2 preface";
    }
    if (first == 0 && fourth <= 9) {
      // A plaintext HTTP/2 frame header: 24-bit length, then a frame type 0..9.
      return "peer does not speak TLS: it sent what looks like a plaintext HTTP/2 frame"
          + " (is the peer configured for plaintext?)";
    }
    return "peer does not speak TLS: first byte 0x" + Integer.toHexString(first)
        + " is not a TLS record type";
  }
}
