package dev.grpclean.transport.frame;

import io.netty.util.AsciiString;

/**
 * An HPACK dynamic table written down as the bytes of its entries, oldest first: for each entry a
 * 2-byte name length, the name's octets, a 2-byte value length, the value's octets. About a third
 * of what netty's live table costs (no entry objects, no string objects, no hash index), and
 * enough to rebuild an identical table through netty's public API.
 *
 * <p>HPACK strings are octets; netty holds them as {@link AsciiString}s (or Strings of chars below
 * 256), so writing each char as one byte is exact.
 *
 * <p>Immutable.
 */
final class HpackSnapshot {
  /** Entries longer than this (a name or a value) are not written down: no hibernation. */
  private static final int MAX_STRING_BYTES = 0xFFFF;

  private final byte[] bytes;
  private final int entries;

  private HpackSnapshot(byte[] bytes, int entries) {
    this.bytes = bytes;
    this.entries = entries;
  }

  /**
   * Writes down {@code newestFirst} (name/value pairs, index 0 the newest entry), or returns null
   * when a string is too long for the format.
   */
  static HpackSnapshot of(CharSequence[] newestFirst) {
    int total = 0;
    for (CharSequence s : newestFirst) {
      if (s.length() > MAX_STRING_BYTES) {
        return null;
      }
      total += 2 + s.length();
    }
    byte[] out = new byte[total];
    int pos = 0;
    for (int i = newestFirst.length - 2; i >= 0; i -= 2) {
      pos = put(out, pos, newestFirst[i]);
      pos = put(out, pos, newestFirst[i + 1]);
    }
    return new HpackSnapshot(out, newestFirst.length / 2);
  }

  private static int put(byte[] out, int pos, CharSequence s) {
    int n = s.length();
    out[pos++] = (byte) (n >>> 8);
    out[pos++] = (byte) n;
    if (s instanceof AsciiString) {
      AsciiString a = (AsciiString) s;
      System.arraycopy(a.array(), a.arrayOffset(), out, pos, n);
    } else {
      for (int i = 0; i < n; i++) {
        out[pos + i] = (byte) s.charAt(i);
      }
    }
    return pos + n;
  }

  int entries() {
    return entries;
  }

  /** Bytes held. */
  int sizeBytes() {
    return bytes.length;
  }

  /**
   * The entries oldest first as name/value pairs, each an {@link AsciiString} sharing this
   * snapshot's array (no copy).
   */
  AsciiString[] fieldsOldestFirst() {
    AsciiString[] fields = new AsciiString[2 * entries];
    int pos = 0;
    for (int i = 0; i < fields.length; i++) {
      int n = ((bytes[pos] & 0xFF) << 8) | (bytes[pos + 1] & 0xFF);
      fields[i] = new AsciiString(bytes, pos + 2, n, false);
      pos += 2 + n;
    }
    return fields;
  }

  /**
   * An HPACK header block (RFC 7541) that rebuilds this table in a fresh decoder: a dynamic table
   * size update to {@code capacityBytes} (§6.3), then each entry oldest first as a literal with
   * incremental indexing and a new name (§6.2.1), without Huffman coding.
   */
  byte[] toRebuildBlock(long capacityBytes) {
    byte[] out = new byte[6 + bytes.length + 7 * entries];
    int pos = putInt(out, 0, 0x20, 5, capacityBytes);
    int in = 0;
    for (int e = 0; e < entries; e++) {
      out[pos++] = 0x40;
      for (int k = 0; k < 2; k++) {
        int n = ((bytes[in] & 0xFF) << 8) | (bytes[in + 1] & 0xFF);
        pos = putInt(out, pos, 0x00, 7, n); // H = 0: raw octets
        System.arraycopy(bytes, in + 2, out, pos, n);
        pos += n;
        in += 2 + n;
      }
    }
    return java.util.Arrays.copyOf(out, pos);
  }

  /** RFC 7541 §5.1: an integer with an N-bit prefix after the pattern bits {@code first}. */
  private static int putInt(byte[] out, int pos, int first, int prefixBits, long value) {
    int max = (1 << prefixBits) - 1;
    if (value < max) {
      out[pos++] = (byte) (first | value);
      return pos;
    }
    out[pos++] = (byte) (first | max);
    value -= max;
    while (value >= 0x80) {
      out[pos++] = (byte) ((value & 0x7F) | 0x80);
      value >>>= 7;
    }
    out[pos++] = (byte) value;
    return pos;
  }
}
