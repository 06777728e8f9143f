package dev.grpclean.alts.record;

import java.security.GeneralSecurityException;

/**
 * One direction's ALTS record counter, kept as the 12-byte little-endian value that is (or, for
 * rekeying, is masked into) the GCM nonce.
 *
 * <p>Bytes 0..7 hold the count, bytes 8..10 are zero, and byte 11 is 0x80 for records the server
 * sends and 0x00 for records the client sends, so the two directions never share a nonce. The
 * counter is exhausted once it has counted past the protocol's overflow bytes (2^40 or 2^64
 * records); using it then fails, because a nonce must never repeat.
 *
 * <p>Thread-compatible.
 */
final class RecordCounter {
  private static final int DIRECTION_BYTE = 11;
  private static final byte SERVER_ORIGIN = (byte) 0x80;

  private final byte[] nonce = new byte[AesGcm.NONCE_BYTES];
  /** 2^(8 * overflowBytes) - 1, or -1 (all ones) for 8 bytes. */
  private final long maxValue;
  private long value;
  private boolean exhausted;

  /**
   * @param serverOrigin true for records the server sends (its outbound, the client's inbound)
   */
  RecordCounter(RecordProtocol protocol, boolean serverOrigin) {
    int overflowBytes = protocol.counterOverflowBytes();
    this.maxValue = overflowBytes >= 8 ? -1L : (1L << (8 * overflowBytes)) - 1;
    if (serverOrigin) {
      nonce[DIRECTION_BYTE] = SERVER_ORIGIN;
    }
  }

  /** The current record's 12 nonce bytes; owned by this counter, valid until {@link #advance}. */
  byte[] current() throws GeneralSecurityException {
    if (exhausted) {
      throw new GeneralSecurityException(
          "record counter exhausted: the connection must be re-established");
    }
    return nonce;
  }

  /** Moves to the next record's counter. */
  void advance() {
    if (value == maxValue) {
      exhausted = true;
      return;
    }
    set(value + 1);
  }

  /** Count of records sealed or opened so far, as an unsigned long. */
  long value() {
    return value;
  }

  /** For tests: jump to an unsigned count no larger than the protocol allows. */
  void setForTesting(long newValue) {
    if (Long.compareUnsigned(newValue, maxValue) > 0) {
      throw new IllegalArgumentException("counter beyond the protocol's range");
    }
    exhausted = false;
    set(newValue);
  }

  private void set(long newValue) {
    value = newValue;
    for (int i = 0; i < 8; i++) {
      nonce[i] = (byte) (newValue >>> (8 * i));
    }
  }
}
