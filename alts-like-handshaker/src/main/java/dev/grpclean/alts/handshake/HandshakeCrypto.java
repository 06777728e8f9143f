package dev.grpclean.alts.handshake;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import javax.crypto.KeyAgreement;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The handshake's cryptography and key schedule (see the module README): X25519 key agreement,
 * transcript hashes, Ed25519 transcript signatures, finished MACs, and HKDF-SHA256 to record
 * keys. All on JDK providers.
 *
 * <p>Thread-safe (stateless).
 */
final class HandshakeCrypto {
  static final byte[] EXTRACT_SALT = ascii("grpc-lean alts-like v1");
  static final byte[] SERVER_SIGNATURE_CONTEXT = ascii("grpc-lean alts-like v1 server signature");
  static final byte[] CLIENT_SIGNATURE_CONTEXT = ascii("grpc-lean alts-like v1 client signature");
  static final byte[] SERVER_FINISHED_LABEL = ascii("server finished");
  static final byte[] CLIENT_FINISHED_LABEL = ascii("client finished");
  static final byte[] CLIENT_RECORD_KEY_LABEL = ascii("client record key");
  /** Version 2: the key sealing the server's identity part of ServerInit. */
  static final byte[] SERVER_IDENTITY_KEY_LABEL = ascii("server identity key");
  /** Version 2: the key sealing the client's identity part of ClientFinished. */
  static final byte[] CLIENT_IDENTITY_KEY_LABEL = ascii("client identity key");
  static final byte[] SERVER_RECORD_KEY_LABEL = ascii("server record key");

  /** RFC 8410 §4 SubjectPublicKeyInfo prefix for a raw X25519 key (OID 1.3.101.110). */
  private static final byte[] X25519_SPKI_PREFIX = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00
  };

  private HandshakeCrypto() {}

  static KeyPair newEphemeral() throws GeneralSecurityException {
    return KeyPairGenerator.getInstance("X25519").generateKeyPair();
  }

  /** RFC 7748 §5: the 32-byte little-endian u-coordinate. */
  static byte[] rawX25519(PublicKey key) {
    byte[] der = key.getEncoded();
    return Arrays.copyOfRange(der, der.length - Messages.X25519_KEY_BYTES, der.length);
  }

  /** X25519(own, peer); rejects peer keys that yield the all-zero secret (RFC 7748 §6.1). */
  static byte[] sharedSecret(PrivateKey own, byte[] peerRaw) throws HandshakeException {
    byte[] secret;
    try {
      byte[] der = Arrays.copyOf(X25519_SPKI_PREFIX, X25519_SPKI_PREFIX.length + peerRaw.length);
      System.arraycopy(peerRaw, 0, der, X25519_SPKI_PREFIX.length, peerRaw.length);
      PublicKey peer = KeyFactory.getInstance("X25519").generatePublic(new X509EncodedKeySpec(der));
      KeyAgreement agreement = KeyAgreement.getInstance("X25519");
      agreement.init(own);
      agreement.doPhase(peer, true);
      secret = agreement.generateSecret();
    } catch (GeneralSecurityException e) {
      throw new HandshakeException("peer's X25519 ephemeral key is invalid", e);
    }
    int or = 0;
    for (byte b : secret) {
      or |= b;
    }
    if (or == 0) {
      throw new HandshakeException("peer's X25519 ephemeral key has small order");
    }
    return secret;
  }

  /** PRK = HKDF-Extract(salt = "grpc-lean alts-like v1", IKM = X25519 shared secret). */
  static byte[] extract(byte[] sharedSecret) throws GeneralSecurityException {
    return Hkdf.extract(EXTRACT_SALT, sharedSecret);
  }

  /** SHA-256 over the first {@code lengths[i]} bytes of each {@code parts[i]}. */
  static byte[] transcriptHash(byte[][] parts, int[] lengths) throws GeneralSecurityException {
    MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
    for (int i = 0; i < parts.length; i++) {
      sha256.update(parts[i], 0, lengths[i]);
    }
    return sha256.digest();
  }

  /**
   * Signature ({@code algorithm}: Ed25519, or P-256 ECDSA-SHA256 in fixed 64-byte P1363 form)
   * over context || 0x00 || transcript hash.
   */
  static byte[] sign(PrivateKey key, String algorithm, byte[] context, byte[] transcriptHash)
      throws GeneralSecurityException {
    Signature signer = Signature.getInstance(algorithm);
    signer.initSign(key);
    signer.update(context);
    signer.update((byte) 0);
    signer.update(transcriptHash);
    return signer.sign();
  }

  static boolean verify(PublicKey key, String algorithm, byte[] context, byte[] transcriptHash,
      byte[] signature, int signatureOffset) {
    try {
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(key);
      verifier.update(context);
      verifier.update((byte) 0);
      verifier.update(transcriptHash);
      return verifier.verify(signature, signatureOffset, Messages.SIGNATURE_BYTES);
    } catch (GeneralSecurityException e) {
      return false; // A malformed signature is a signature that does not verify.
    }
  }

  /** HMAC-SHA256(HKDF-Expand(PRK, label, 32), transcript hash). */
  static byte[] finishedMac(byte[] prk, byte[] label, byte[] transcriptHash)
      throws GeneralSecurityException {
    byte[] key = Hkdf.expand(prk, label, Hkdf.HASH_BYTES);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(transcriptHash);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  /** HKDF-Expand(PRK, label || transcript hash, keyBytes). */
  static byte[] recordKey(byte[] prk, byte[] label, byte[] transcriptHash, int keyBytes)
      throws GeneralSecurityException {
    byte[] info = Arrays.copyOf(label, label.length + transcriptHash.length);
    System.arraycopy(transcriptHash, 0, info, label.length, transcriptHash.length);
    return Hkdf.expand(prk, info, keyBytes);
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
