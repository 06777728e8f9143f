package dev.grpclean.transport.tls;

import java.nio.ByteBuffer;
import javax.annotation.Nullable;
import javax.net.ssl.SSLException;

/**
 * The bytes of one incomplete inbound TLS record, kept between reads in a heap array sized to
 * what has arrived. The array grows geometrically (doubling, capped at the record's size from its
 * header) so a record trickling in costs O(record) copying, and it is dropped as soon as the record
 * is whole: an idle connection keeps no array at all.
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
final class PartialRecord {
  /** Null when nothing is pending. */
  @Nullable private byte[] bytes;
  private int count;

  /** Bytes held between calls. */
  int pendingBytes() {
    return count;
  }

  boolean isEmpty() {
    return count == 0;
  }

  /**
   * Keeps all of {@code in}: the prefix of one record that has not fully arrived. Only called when
   * nothing is pending yet.
   */
  void stash(ByteBuffer in) {
    int n = in.remaining();
    if (n == 0) {
      return;
    }
    bytes = new byte[n];
    in.get(bytes, 0, n);
    count = n;
  }

  /**
   * Moves from {@code in} the bytes that complete the pending record, and no more.
   *
   * @return a heap view of the whole record (valid until {@link #clear}), or null if {@code in}
   *     ran out first; whatever was taken stays pending
   * @throws SSLException if the pending bytes are not a TLS record header
   */
  @Nullable
  ByteBuffer complete(ByteBuffer in) throws SSLException {
    if (count < TlsRecords.HEADER_BYTES) {
      take(in, TlsRecords.HEADER_BYTES - count, TlsRecords.HEADER_BYTES);
      if (count < TlsRecords.HEADER_BYTES) {
        return null;
      }
    }
    int total = TlsRecords.recordBytes(bytes);
    take(in, total - count, total);
    return count < total ? null : ByteBuffer.wrap(bytes, 0, total);
  }

  /** Drops the pending bytes (the record was opened, or the connection closed). */
  void clear() {
    bytes = null;
    count = 0;
  }

  private void take(ByteBuffer in, int wanted, int capBytes) {
    int n = Math.min(wanted, in.remaining());
    if (n <= 0) {
      return;
    }
    int needed = count + n;
    if (bytes == null || bytes.length < needed) {
      int grown = bytes == null ? needed : Math.max(needed, bytes.length * 2);
      byte[] next = new byte[Math.min(grown, capBytes)];
      if (bytes != null) {
        System.arraycopy(bytes, 0, next, 0, count);
      }
      bytes = next;
    }
    in.get(bytes, count, n);
    count = needed;
  }
}
