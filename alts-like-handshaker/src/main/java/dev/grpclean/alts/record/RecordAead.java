package dev.grpclean.alts.record;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.annotation.Nullable;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One direction's AEAD under an ALTS record protocol: given the record's 12-byte counter, seals or
 * opens one record's ciphertext. Holds only key material between calls.
 *
 * <p>Thread-compatible.
 */
abstract class RecordAead {
  final AesGcm aesGcm;

  private RecordAead(GcmProvider provider) {
    this.aesGcm = AesGcm.of(provider);
  }

  /** Copies {@code key} ({@link RecordProtocol#keyBytes()} long); the caller may wipe it. */
  static RecordAead create(RecordProtocol protocol, byte[] key, GcmProvider provider) {
    if (key.length != protocol.keyBytes()) {
      throw new IllegalArgumentException(
          protocol + " needs a " + protocol.keyBytes() + "-byte key, not " + key.length);
    }
    return protocol == RecordProtocol.AES_128_GCM
        ? new Gcm(key, provider) : new RekeyGcm(key, provider);
  }

  /** See {@link AesGcm#seal}; {@code counter} is the record's 12-byte counter. */
  abstract void seal(byte[] counter, @Nullable byte[] aad, ByteBuffer in, ByteBuffer out)
      throws GeneralSecurityException;

  /** See {@link AesGcm#open}; {@code counter} is the record's 12-byte counter. */
  abstract void open(byte[] counter, @Nullable byte[] aad, ByteBuffer in, ByteBuffer out)
      throws GeneralSecurityException;

  /** See {@link AesGcm#opensInPlace}. */
  final boolean opensInPlace(ByteBuffer record) {
    return aesGcm.opensInPlace(record);
  }

  /** See {@link AesGcm#openInPlace}; {@code counter} is the record's 12-byte counter. */
  abstract int openInPlace(byte[] counter, @Nullable byte[] aad, ByteBuffer record)
      throws GeneralSecurityException;

  /**
   * See {@link AesGcm#openToScratch}: the plaintext in this thread's scratch, or null (nothing
   * consumed) where that path is not available.
   */
  @Nullable
  abstract ByteBuffer openToScratch(byte[] counter, @Nullable byte[] aad, ByteBuffer record)
      throws GeneralSecurityException;

  /** ALTSRP_GCM_AES128: the counter is the nonce. */
  private static final class Gcm extends RecordAead {
    private final SecretKeySpec key;
    private final byte[] rawKey;

    Gcm(byte[] key, GcmProvider provider) {
      super(provider);
      this.key = new SecretKeySpec(key, "AES");
      this.rawKey = key.clone();
    }

    @Override
    void seal(byte[] counter, @Nullable byte[] aad, ByteBuffer in, ByteBuffer out)
        throws GeneralSecurityException {
      aesGcm.seal(key, rawKey, counter, aad, in, out);
    }

    @Override
    void open(byte[] counter, @Nullable byte[] aad, ByteBuffer in, ByteBuffer out)
        throws GeneralSecurityException {
      aesGcm.open(key, rawKey, counter, aad, in, out);
    }

    @Override
    int openInPlace(byte[] counter, @Nullable byte[] aad, ByteBuffer record)
        throws GeneralSecurityException {
      return aesGcm.openInPlace(rawKey, counter, aad, record);
    }

    @Override
    @Nullable
    ByteBuffer openToScratch(byte[] counter, @Nullable byte[] aad, ByteBuffer record)
        throws GeneralSecurityException {
      return aesGcm.openToScratch(rawKey, counter, aad, record);
    }
  }

  /**
   * ALTSRP_GCM_AES128_REKEY: the 44-byte key is a 32-byte KDF key and a 12-byte nonce mask. The
   * AES key for a record is the first 16 bytes of HMAC-SHA256(kdfKey, counter[2..8) || 0x01) (one
   * HKDF-Expand block), so it changes every 2^16 records and is derived again only then; the nonce
   * is counter XOR mask.
   */
  private static final class RekeyGcm extends RecordAead {
    private static final int KDF_KEY_BYTES = 32;
    /** Counter bytes 2..7 feed the KDF: skipping bytes 0-1 rekeys every 2^16 records. */
    private static final int KDF_COUNTER_OFFSET = 2;
    private static final int KDF_COUNTER_BYTES = 6;

    private final SecretKeySpec kdfKey;
    private final byte[] mask;
    private final byte[] nonce = new byte[AesGcm.NONCE_BYTES];
    @Nullable private SecretKeySpec recordKey;
    /** {@link #recordKey}'s bytes, overwritten in place at each rekey. */
    private final byte[] recordKeyBytes = new byte[AesGcm.KEY_BYTES];
    /** Counter bytes 2..7 that {@link #recordKey} was derived from. */
    private long recordKeyKdfCounter;

    RekeyGcm(byte[] key, GcmProvider provider) {
      super(provider);
      this.kdfKey = new SecretKeySpec(key, 0, KDF_KEY_BYTES, "HmacSHA256");
      this.mask = Arrays.copyOfRange(key, KDF_KEY_BYTES, KDF_KEY_BYTES + AesGcm.NONCE_BYTES);
    }

    @Override
    void seal(byte[] counter, @Nullable byte[] aad, ByteBuffer in, ByteBuffer out)
        throws GeneralSecurityException {
      SecretKeySpec key = keyFor(counter);
      aesGcm.seal(key, recordKeyBytes, maskedNonce(counter), aad, in, out);
    }

    @Override
    void open(byte[] counter, @Nullable byte[] aad, ByteBuffer in, ByteBuffer out)
        throws GeneralSecurityException {
      SecretKeySpec key = keyFor(counter);
      aesGcm.open(key, recordKeyBytes, maskedNonce(counter), aad, in, out);
    }

    @Override
    int openInPlace(byte[] counter, @Nullable byte[] aad, ByteBuffer record)
        throws GeneralSecurityException {
      keyFor(counter);
      return aesGcm.openInPlace(recordKeyBytes, maskedNonce(counter), aad, record);
    }

    @Override
    @Nullable
    ByteBuffer openToScratch(byte[] counter, @Nullable byte[] aad, ByteBuffer record)
        throws GeneralSecurityException {
      keyFor(counter);
      return aesGcm.openToScratch(recordKeyBytes, maskedNonce(counter), aad, record);
    }

    private byte[] maskedNonce(byte[] counter) {
      for (int i = 0; i < AesGcm.NONCE_BYTES; i++) {
        nonce[i] = (byte) (counter[i] ^ mask[i]);
      }
      return nonce;
    }

    private SecretKeySpec keyFor(byte[] counter) throws GeneralSecurityException {
      long kdfCounter = 0;
      for (int i = KDF_COUNTER_BYTES - 1; i >= 0; i--) {
        kdfCounter = (kdfCounter << 8) | (counter[KDF_COUNTER_OFFSET + i] & 0xff);
      }
      if (recordKey != null && kdfCounter == recordKeyKdfCounter) {
        return recordKey;
      }
      // Rare (once per 2^16 records), so a fresh Mac rather than one kept per connection.
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(kdfKey);
      mac.update(counter, KDF_COUNTER_OFFSET, KDF_COUNTER_BYTES);
      mac.update((byte) 0x01);
      byte[] block = mac.doFinal();
      recordKey = new SecretKeySpec(block, 0, AesGcm.KEY_BYTES, "AES");
      System.arraycopy(block, 0, recordKeyBytes, 0, AesGcm.KEY_BYTES);
      Arrays.fill(block, (byte) 0);
      recordKeyKdfCounter = kdfCounter;
      return recordKey;
    }
  }
}
