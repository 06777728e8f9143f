package dev.grpclean.alts.handshake;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Handshake version 2's encryption of the identity part of ServerInit and ClientFinished (the
 * identity field, signature and MAC): AES-128-GCM under a key expanded from the PRK and the
 * transcript before the message, nonce zero (each key seals exactly one message), the message's
 * clear part (header, and for ServerInit the negotiated values and the server's ephemeral) as
 * associated data. The sealed form is the plaintext form with the length field grown by the
 * 16-byte tag; signatures, MACs and record keys are computed over the plaintext forms.
 *
 * <p>Thread-safe (stateless).
 */
final class IdentityEnvelope {
  static final int TAG_BYTES = 16;
  private static final int KEY_BYTES = 16;
  private static final int NONCE_BYTES = 12;

  private IdentityEnvelope() {}

  /** The sealed form of {@code plain}, whose first {@code clearBytes} stay in clear. */
  static byte[] seal(byte[] plain, int clearBytes, byte[] prk, byte[] label, byte[] transcript)
      throws GeneralSecurityException {
    byte[] sealed = Arrays.copyOf(plain, plain.length + TAG_BYTES);
    putLength(sealed);
    Cipher gcm = cipher(Cipher.ENCRYPT_MODE, prk, label, transcript);
    gcm.updateAAD(sealed, 0, clearBytes);
    gcm.doFinal(plain, clearBytes, plain.length - clearBytes, sealed, clearBytes);
    return sealed;
  }

  /**
   * The plaintext form of a sealed message.
   *
   * @throws HandshakeException if it is too short or does not authenticate (tampered, or the
   *     peers do not share the key exchange)
   */
  static byte[] open(byte[] sealed, int clearBytes, byte[] prk, byte[] label, byte[] transcript,
      String name) throws GeneralSecurityException {
    if (sealed.length < clearBytes + TAG_BYTES) {
      throw new HandshakeException(name + " is truncated");
    }
    byte[] plain = Arrays.copyOf(sealed, sealed.length - TAG_BYTES);
    putLength(plain);
    Cipher gcm = cipher(Cipher.DECRYPT_MODE, prk, label, transcript);
    gcm.updateAAD(sealed, 0, clearBytes);
    try {
      gcm.doFinal(sealed, clearBytes, sealed.length - clearBytes, plain, clearBytes);
    } catch (AEADBadTagException e) {
      throw new HandshakeException(name + "'s encrypted identity does not authenticate: the"
          + " handshake was tampered with or the key exchange failed", e);
    }
    return plain;
  }

  private static Cipher cipher(int mode, byte[] prk, byte[] label, byte[] transcript)
      throws GeneralSecurityException {
    byte[] info = Arrays.copyOf(label, label.length + transcript.length);
    System.arraycopy(transcript, 0, info, label.length, transcript.length);
    byte[] key = Hkdf.expand(prk, info, KEY_BYTES);
    try {
      Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(mode, new SecretKeySpec(key, "AES"),
          new GCMParameterSpec(TAG_BYTES * 8, new byte[NONCE_BYTES]));
      return gcm;
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  /** Rewrites the length field (little-endian u32 of the bytes after it) for the array's size. */
  private static void putLength(byte[] message) {
    int length = message.length - Messages.LENGTH_BYTES;
    message[0] = (byte) length;
    message[1] = (byte) (length >>> 8);
    message[2] = (byte) (length >>> 16);
    message[3] = (byte) (length >>> 24);
  }
}
