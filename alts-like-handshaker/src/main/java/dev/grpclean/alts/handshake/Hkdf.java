package dev.grpclean.alts.handshake;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HKDF with HMAC-SHA256 (RFC 5869), on the JDK's {@code HmacSHA256}.
 *
 * <p>Thread-safe (stateless).
 */
final class Hkdf {
  static final int HASH_BYTES = 32;
  private static final String HMAC = "HmacSHA256";

  private Hkdf() {}

  /** RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); an empty salt means HashLen zero bytes. */
  static byte[] extract(byte[] salt, byte[] ikm) throws GeneralSecurityException {
    Mac mac = Mac.getInstance(HMAC);
    mac.init(new SecretKeySpec(salt.length == 0 ? new byte[HASH_BYTES] : salt, HMAC));
    return mac.doFinal(ikm);
  }

  /** RFC 5869 §2.3: the first {@code length} bytes of T(1) || T(2) || ...; length ≤ 255 * 32. */
  static byte[] expand(byte[] prk, byte[] info, int length) throws GeneralSecurityException {
    if (length < 0 || length > 255 * HASH_BYTES) {
      throw new IllegalArgumentException("HKDF-Expand length out of range: " + length);
    }
    Mac mac = Mac.getInstance(HMAC);
    mac.init(new SecretKeySpec(prk, HMAC));
    byte[] okm = new byte[length];
    byte[] t = new byte[0];
    for (int i = 1, done = 0; done < length; i++) {
      mac.update(t);
      mac.update(info);
      mac.update((byte) i);
      byte[] next = mac.doFinal();
      Arrays.fill(t, (byte) 0);
      t = next;
      int n = Math.min(HASH_BYTES, length - done);
      System.arraycopy(t, 0, okm, done, n);
      done += n;
    }
    Arrays.fill(t, (byte) 0);
    return okm;
  }
}
