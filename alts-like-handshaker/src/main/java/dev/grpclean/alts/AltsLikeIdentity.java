package dev.grpclean.alts;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;

/**
 * This side's identity: an Ed25519 key pair. The public key (its {@link #id()}) is what peers
 * accept or reject; the private key signs each handshake's transcript.
 *
 * <p>The JDK cannot derive an Ed25519 public key from a private one, so both halves are given;
 * every factory checks that they belong together.
 *
 * <p>Thread-safe (immutable).
 */
public final class AltsLikeIdentity {
  private final PrivateKey privateKey;
  private final PublicKey publicKey;
  private final byte[] rawPublicKey;
  private final String id;

  private AltsLikeIdentity(PrivateKey privateKey, PublicKey publicKey, byte[] rawPublicKey) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.rawPublicKey = rawPublicKey;
    this.id = Ed25519Keys.id(rawPublicKey);
  }

  /**
   * An identity from a key pair.
   *
   * @throws GeneralSecurityException if either key is not Ed25519 or they do not form a pair
   */
  public static AltsLikeIdentity of(PrivateKey privateKey, PublicKey publicKey)
      throws GeneralSecurityException {
    byte[] raw = Ed25519Keys.rawPublicKey(publicKey);
    byte[] challenge = new byte[32];
    new SecureRandom().nextBytes(challenge);
    Signature signer = Signature.getInstance("Ed25519");
    signer.initSign(privateKey);
    signer.update(challenge);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance("Ed25519");
    verifier.initVerify(publicKey);
    verifier.update(challenge);
    if (!verifier.verify(signature)) {
      throw new GeneralSecurityException("the Ed25519 private key does not match public key "
          + Ed25519Keys.id(raw));
    }
    return new AltsLikeIdentity(privateKey, publicKey, raw);
  }

  /** A fresh random identity. */
  public static AltsLikeIdentity generate() throws GeneralSecurityException {
    KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    return of(pair.getPrivate(), pair.getPublic());
  }

  /**
   * From PEM files: PKCS#8 {@code PRIVATE KEY} and X.509 {@code PUBLIC KEY}, as alts-keygen
   * writes them.
   */
  public static AltsLikeIdentity fromPemFiles(Path privateKeyPem, Path publicKeyPem)
      throws IOException, GeneralSecurityException {
    return of(Ed25519Keys.readPrivateKeyPem(privateKeyPem),
        Ed25519Keys.readPublicKeyPem(publicKeyPem));
  }

  /** From PEM text. */
  public static AltsLikeIdentity fromPem(String privateKeyPem, String publicKeyPem)
      throws GeneralSecurityException {
    return of(Ed25519Keys.privateKeyFromPem(privateKeyPem),
        Ed25519Keys.publicKeyFromPem(publicKeyPem));
  }

  /** From DER: PKCS#8 private key and X.509 SubjectPublicKeyInfo public key. */
  public static AltsLikeIdentity fromDer(byte[] pkcs8, byte[] spki)
      throws GeneralSecurityException {
    return of(Ed25519Keys.privateKeyFromPkcs8(pkcs8), Ed25519Keys.publicKeyFromSpki(spki));
  }

  /** From raw RFC 8032 bytes: the 32-byte private seed and the 32-byte public key. */
  public static AltsLikeIdentity fromRaw(byte[] privateSeed, byte[] publicKey)
      throws GeneralSecurityException {
    return of(Ed25519Keys.privateKeyFromRaw(privateSeed), Ed25519Keys.publicKeyFromRaw(publicKey));
  }

  public PublicKey publicKey() {
    return publicKey;
  }

  /** The private key; for signing handshakes. */
  public PrivateKey privateKey() {
    return privateKey;
  }

  /** The raw 32-byte public key (a copy). */
  public byte[] rawPublicKey() {
    return rawPublicKey.clone();
  }

  /** Printable id, {@code ed25519:<base64url of the public key>}, as peers see it. */
  public String id() {
    return id;
  }

  @Override
  public String toString() {
    return "AltsLikeIdentity{" + id + "}";
  }
}
