package dev.grpclean.transport.tls;

import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
import java.nio.ByteBuffer;
import javax.annotation.Nullable;
import javax.net.ssl.SSLException;

/**
 * The bytes of one incomplete inbound TLS record, kept between reads in a heap array sized to
 * what has arrived. The array grows geometrically (doubling, capped at the record's size from its
 * header) so a record trickling in costs O(record) copying, and it is dropped as soon as the record
 * is whole: an idle connection keeps no array at all.
 *
 * <p>Under load almost every socket read ends inside a record (a 16 KiB record and a 64 KiB read),
 * so the stash would be garbage at every read. It is therefore a heap-pool lease whenever a pool
 * class (a power of two from 4 KiB) holds what is pending within twice its bytes, returned when
 * the record is opened or the connection closes; smaller stashes are plain arrays. Such a lease
 * counts as leased while its record is incomplete; between records nothing is held.
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
final class PartialRecord {
  /** Null when nothing is pending. */
  @Nullable private byte[] bytes;
  /** Non-null when {@link #bytes} is the array of a heap-pool lease. */
  @Nullable private ByteBuffer lease;
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
    grow(n, n);
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
    if (lease != null) {
      ByteBuffer l = lease;
      lease = null;
      Pools.heap().release(l);
    }
  }

  /**
   * Replaces the array with one of at least {@code size} bytes, keeping the pending bytes: a pool
   * class when one holds {@code pendingAfter} (the bytes pending once it is filled) within twice
   * that, else an array of exactly {@code size}.
   */
  private void grow(int size, int pendingAfter) {
    int classSize = Math.max(BufferPool.MIN_CLASS_BYTES,
        Integer.highestOneBit(Math.max(size, 2) - 1) << 1);
    if (classSize > 2L * pendingAfter) {
      classSize >>>= 1;
    }
    ByteBuffer nextLease = null;
    byte[] next;
    if (classSize >= Math.max(pendingAfter, BufferPool.MIN_CLASS_BYTES)
        && classSize <= BufferPool.MAX_CLASS_BYTES) {
      nextLease = Pools.heap().lease(classSize);
      next = nextLease.array();
    } else {
      next = new byte[size];
    }
    if (bytes != null) {
      System.arraycopy(bytes, 0, next, 0, count);
    }
    if (lease != null) {
      Pools.heap().release(lease);
    }
    bytes = next;
    lease = nextLease;
  }

  private void take(ByteBuffer in, int wanted, int capBytes) {
    int n = Math.min(wanted, in.remaining());
    if (n <= 0) {
      return;
    }
    int needed = count + n;
    if (bytes == null || bytes.length < needed) {
      int grown = bytes == null ? needed : Math.max(needed, bytes.length * 2);
      grow(Math.max(needed, Math.min(grown, capBytes)), needed);
    }
    in.get(bytes, count, n);
    count = needed;
  }
}
