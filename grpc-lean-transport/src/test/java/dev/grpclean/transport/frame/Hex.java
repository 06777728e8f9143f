package dev.grpclean.transport.frame;

import java.nio.ByteBuffer;

/**
 * Hand-built byte strings for tests: hex with optional spaces and '|' separators.
 *
 * <p>Stateless; thread-safe.
 */
final class Hex {
  private Hex() {}

  static byte[] bytes(String hex) {
    String h = hex.replaceAll("[\\s|]", "");
    if (h.length() % 2 != 0) {
      throw new IllegalArgumentException("odd hex length: " + hex);
    }
    byte[] out = new byte[h.length() / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
    }
    return out;
  }

  static ByteBuffer buffer(String hex) {
    return ByteBuffer.wrap(bytes(hex));
  }

  static String of(ByteBuffer b) {
    StringBuilder sb = new StringBuilder();
    for (int i = b.position(); i < b.limit(); i++) {
      sb.append(String.format("%02x", b.get(i) & 0xff));
    }
    return sb.toString();
  }

  static String of(byte[] b) {
    return of(ByteBuffer.wrap(b));
  }

  /** Concatenates hex strings into one array. */
  static byte[] concat(String... hex) {
    StringBuilder sb = new StringBuilder();
    for (String h : hex) {
      sb.append(h);
    }
    return bytes(sb.toString());
  }

  /** Repeats the byte {@code b} {@code n} times, as hex. */
  static String repeat(int b, int n) {
    return String.format("%02x", b).repeat(n);
  }
}
