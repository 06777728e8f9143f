package dev.grpclean.transport.spi;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;

/**
 * Seals outbound bytes into records and opens inbound records, for one connection after its
 * handshake. The transport calls it from the connection's loop thread only, with buffers it
 * leased for the duration of one read or one flush.
 *
 * <p>Memory contract: between calls the protector holds no leased buffer, except the bytes of an
 * incomplete inbound record, kept in a buffer of at most twice what is pending (see {@link
 * #pendingBytes()}) that may be a heap-pool lease (under load nearly every read ends inside a
 * record, and a fresh array per read is the read path's largest garbage). It is dropped or
 * returned once the record completes, so an idle connection holds only keys and counters.
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
public interface RecordProtector {
  /** Receives plaintext opened from records. */
  interface PlaintextSink {
    /**
     * Borrowed: {@code plaintext} is valid only during the call; the sink must consume or copy
     * it. The transport's frame reader consumes it fully.
     */
    void onPlaintext(ByteBuffer plaintext) throws Exception;
  }

  /**
   * Opens every complete record in {@code ciphertext} (borrowed, consumed to its limit) and
   * passes each record's plaintext to {@code sink}, in order. An incomplete trailing record is
   * kept until the next call. Opening in place (overwriting {@code ciphertext}) is allowed.
   *
   * @throws GeneralSecurityException on a record that fails authentication, is out of order,
   *     is oversized or malformed: the connection must be closed
   */
  void unprotect(ByteBuffer ciphertext, PlaintextSink sink) throws Exception;

  /** Upper bound of the sealed size of {@code plaintextBytes} bytes (record overhead included). */
  int maxProtectedBytes(int plaintextBytes);

  /**
   * Seals all of {@code plaintext} (consumed to its limit) into records appended to
   * {@code out}, which has at least {@link #maxProtectedBytes} remaining.
   */
  void protect(ByteBuffer plaintext, ByteBuffer out) throws GeneralSecurityException;

  /**
   * Seals this side's end of the stream (TLS close_notify, RFC 8446 §6.1) into {@code out}, which
   * has at least {@link #maxCloseBytes()} remaining; nothing may be protected after it. The
   * transport calls it once, on a graceful close, after its final GOAWAY went out. Default:
   * nothing to send (the ALTS record protocol has no such record).
   */
  default void closeOutbound(ByteBuffer out) throws GeneralSecurityException {}

  /** Room {@link #closeOutbound} needs; 0 if it writes nothing. */
  default int maxCloseBytes() {
    return 0;
  }

  /** Bytes of incomplete inbound records held between calls. */
  int pendingBytes();

  /** Drops keys and pending bytes; the connection is closed. Idempotent. */
  void release();
}
