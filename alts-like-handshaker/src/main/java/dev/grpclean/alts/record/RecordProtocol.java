package dev.grpclean.alts.record;

import javax.annotation.Nullable;

/**
 * The ALTS record protocols this module speaks, with their wire identifiers in our handshake.
 *
 * <p>Thread-safe (immutable).
 */
public enum RecordProtocol {
  /**
   * ALTSRP_GCM_AES128_REKEY: AES-128-GCM whose key is re-derived from a 32-byte KDF key every 2^16
   * records and whose nonce is the counter XOR a 12-byte mask. The default: it never exhausts its
   * counter in practice (2^64 records).
   */
  AES_128_GCM_REKEY(1, 44, 8),
  /** ALTSRP_GCM_AES128: AES-128-GCM with the counter as nonce; at most 2^40 records. */
  AES_128_GCM(2, 16, 5);

  private final int wireId;
  private final int keyBytes;
  private final int counterOverflowBytes;

  RecordProtocol(int wireId, int keyBytes, int counterOverflowBytes) {
    this.wireId = wireId;
    this.keyBytes = keyBytes;
    this.counterOverflowBytes = counterOverflowBytes;
  }

  /** The byte that names this protocol in the handshake. */
  public int wireId() {
    return wireId;
  }

  /** Key material per direction: 44 bytes (KDF key + nonce mask) or 16 (the AES key). */
  public int keyBytes() {
    return keyBytes;
  }

  /**
   * How many low-order counter bytes may count before the counter is exhausted: 5 (2^40 records)
   * for plain GCM, 8 (2^64) for rekeying, as in grpc-go's ALTS record layer.
   */
  int counterOverflowBytes() {
    return counterOverflowBytes;
  }

  /** The protocol with this wire id, or null if unknown. */
  @Nullable
  public static RecordProtocol fromWireId(int wireId) {
    for (RecordProtocol protocol : values()) {
      if (protocol.wireId == wireId) {
        return protocol;
      }
    }
    return null;
  }
}
