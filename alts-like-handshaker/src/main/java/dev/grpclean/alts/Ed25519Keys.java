package dev.grpclean.alts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ed25519 key encodings: raw 32-byte keys (RFC 8032), DER (PKCS#8, X.509 SubjectPublicKeyInfo;
 * RFC 8410) and PEM, on the JDK's {@code Ed25519} key factory.
 *
 * <p>Thread-safe (stateless).
 */
public final class Ed25519Keys {
  /** Raw public key and private seed size. */
  public static final int KEY_BYTES = 32;
  /** RFC 8410 §4: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (33 bytes) }. */
  private static final byte[] SPKI_PREFIX = hex("302a300506032b6570032100");
  /** RFC 8410 §7: PKCS#8 v1 with the 32-byte seed as an OCTET STRING inside an OCTET STRING. */
  private static final byte[] PKCS8_PREFIX = hex("302e020100300506032b657004220420");
  private static final Pattern PEM = Pattern.compile(
      "-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

  private Ed25519Keys() {}

  /** A public key from its raw 32 bytes. */
  public static PublicKey publicKeyFromRaw(byte[] raw) throws GeneralSecurityException {
    checkLength(raw, "raw Ed25519 public key");
    return publicKeyFromSpki(concat(SPKI_PREFIX, raw));
  }

  /** A private key from its raw 32-byte seed. */
  public static PrivateKey privateKeyFromRaw(byte[] seed) throws GeneralSecurityException {
    checkLength(seed, "raw Ed25519 private key");
    byte[] der = concat(PKCS8_PREFIX, seed);
    try {
      return privateKeyFromPkcs8(der);
    } finally {
      Arrays.fill(der, (byte) 0);
    }
  }

  /** A public key from X.509 SubjectPublicKeyInfo DER. */
  public static PublicKey publicKeyFromSpki(byte[] der) throws GeneralSecurityException {
    PublicKey key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
    rawPublicKey(key); // Checks it is Ed25519 and not, say, Ed448.
    return key;
  }

  /** A private key from PKCS#8 DER (v1, or v2 with the public key attached). */
  public static PrivateKey privateKeyFromPkcs8(byte[] der) throws GeneralSecurityException {
    PrivateKey key =
        KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
    if (!"Ed25519".equals(key.getAlgorithm()) && !"EdDSA".equals(key.getAlgorithm())) {
      throw new GeneralSecurityException("not an Ed25519 private key: " + key.getAlgorithm());
    }
    return key;
  }

  /** The raw 32 bytes of an Ed25519 public key. */
  public static byte[] rawPublicKey(PublicKey key) throws GeneralSecurityException {
    byte[] der = key.getEncoded();
    if (der == null || der.length != SPKI_PREFIX.length + KEY_BYTES
        || !Arrays.equals(der, 0, SPKI_PREFIX.length, SPKI_PREFIX, 0, SPKI_PREFIX.length)) {
      throw new GeneralSecurityException("not an Ed25519 public key: " + key.getAlgorithm());
    }
    return Arrays.copyOfRange(der, SPKI_PREFIX.length, der.length);
  }

  /** A public key from a PEM file holding a {@code PUBLIC KEY} block. */
  public static PublicKey readPublicKeyPem(Path file) throws IOException, GeneralSecurityException {
    return publicKeyFromPem(Files.readString(file, StandardCharsets.US_ASCII));
  }

  /** A private key from a PEM file holding a {@code PRIVATE KEY} (PKCS#8) block. */
  public static PrivateKey readPrivateKeyPem(Path file)
      throws IOException, GeneralSecurityException {
    return privateKeyFromPem(Files.readString(file, StandardCharsets.US_ASCII));
  }

  public static PublicKey publicKeyFromPem(String pem) throws GeneralSecurityException {
    return publicKeyFromSpki(pemBody(pem, "PUBLIC KEY"));
  }

  public static PrivateKey privateKeyFromPem(String pem) throws GeneralSecurityException {
    byte[] der = pemBody(pem, "PRIVATE KEY");
    try {
      return privateKeyFromPkcs8(der);
    } finally {
      Arrays.fill(der, (byte) 0);
    }
  }

  /** {@code -----BEGIN PUBLIC KEY-----} PEM of the X.509 SubjectPublicKeyInfo. */
  public static String publicKeyPem(PublicKey key) throws GeneralSecurityException {
    rawPublicKey(key);
    return pem("PUBLIC KEY", key.getEncoded());
  }

  /** {@code -----BEGIN PRIVATE KEY-----} PEM of the PKCS#8 encoding. */
  public static String privateKeyPem(PrivateKey key) {
    return pem("PRIVATE KEY", key.getEncoded());
  }

  /** The printable id of a raw public key: {@code ed25519:} and its unpadded base64url. */
  public static String id(byte[] rawPublicKey) {
    return "ed25519:" + Base64.getUrlEncoder().withoutPadding().encodeToString(rawPublicKey);
  }

  private static byte[] pemBody(String pem, String label) throws GeneralSecurityException {
    Matcher m = PEM.matcher(pem);
    while (m.find()) {
      if (m.group(1).equals(label)) {
        try {
          return Base64.getMimeDecoder().decode(m.group(2));
        } catch (IllegalArgumentException e) {
          throw new GeneralSecurityException("bad base64 in PEM " + label + " block", e);
        }
      }
    }
    throw new GeneralSecurityException("no PEM '" + label + "' block found");
  }

  private static String pem(String label, byte[] der) {
    String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
    return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
  }

  private static void checkLength(byte[] key, String what) throws GeneralSecurityException {
    if (key.length != KEY_BYTES) {
      throw new GeneralSecurityException(what + " must be " + KEY_BYTES + " bytes, not "
          + key.length);
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static byte[] hex(String s) {
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    }
    return out;
  }
}
