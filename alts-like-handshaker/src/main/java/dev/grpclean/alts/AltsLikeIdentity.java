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
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * This side's identity: an Ed25519 key pair, or (see {@link #ofCertificate}) an X.509
 * certificate chain and the leaf's private key. The public key (its {@link #id()}) is what peers
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
  private final List<X509Certificate> chain;
  private final String signatureAlgorithm;

  private AltsLikeIdentity(PrivateKey privateKey, PublicKey publicKey, byte[] rawPublicKey) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.rawPublicKey = rawPublicKey;
    this.id = Ed25519Keys.id(rawPublicKey);
    this.chain = List.of();
    this.signatureAlgorithm = "Ed25519";
  }

  private AltsLikeIdentity(PrivateKey privateKey, List<X509Certificate> chain,
      String signatureAlgorithm) {
    this.privateKey = privateKey;
    this.publicKey = chain.get(0).getPublicKey();
    this.rawPublicKey = publicKey.getEncoded();
    this.id = X509Identities.id(chain.get(0));
    this.chain = chain;
    this.signatureAlgorithm = signatureAlgorithm;
  }

  /**
   * A certificate identity: {@code chain} leaf first (intermediates after it; the root may be
   * left out), and the leaf's private key. The leaf key must be Ed25519 or EC P-256.
   *
   * @throws GeneralSecurityException if the chain is empty, too large (over {@link
   *     X509Identities#MAX_CHAIN_BYTES} DER bytes or {@link
   *     X509Identities#MAX_CHAIN_CERTIFICATES} certificates), not currently valid, of an
   *     unsupported key type, or the private key does not match the leaf
   */
  public static AltsLikeIdentity ofCertificate(List<X509Certificate> chain, PrivateKey key)
      throws GeneralSecurityException {
    List<X509Certificate> copy = List.copyOf(chain);
    if (copy.isEmpty()) {
      throw new GeneralSecurityException("empty certificate chain");
    }
    if (copy.size() > X509Identities.MAX_CHAIN_CERTIFICATES) {
      throw new GeneralSecurityException("certificate chain of " + copy.size()
          + " certificates exceeds the limit of " + X509Identities.MAX_CHAIN_CERTIFICATES);
    }
    int bytes = 0;
    for (X509Certificate cert : copy) {
      try {
        bytes += cert.getEncoded().length + 2;
      } catch (CertificateEncodingException e) {
        throw new GeneralSecurityException("certificate cannot be encoded", e);
      }
      cert.checkValidity();
    }
    if (bytes > X509Identities.MAX_CHAIN_BYTES) {
      throw new GeneralSecurityException("certificate chain of " + bytes
          + " encoded bytes exceeds the limit of " + X509Identities.MAX_CHAIN_BYTES);
    }
    PublicKey leafKey = copy.get(0).getPublicKey();
    String algorithm = X509Identities.signatureAlgorithm(leafKey);
    byte[] challenge = new byte[32];
    new SecureRandom().nextBytes(challenge);
    boolean ok;
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(leafKey);
      verifier.update(challenge);
      ok = verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      ok = false;
    }
    if (!ok) {
      throw new GeneralSecurityException("the private key does not match the certificate "
          + X509Identities.id(copy.get(0)));
    }
    return new AltsLikeIdentity(key, copy, algorithm);
  }

  /**
   * A certificate identity from PEM files: {@code chainPem} holds the certificates leaf first,
   * {@code keyPem} the leaf's PKCS#8 {@code PRIVATE KEY}.
   */
  public static AltsLikeIdentity fromCertificatePemFiles(Path chainPem, Path keyPem)
      throws IOException, GeneralSecurityException {
    List<X509Certificate> chain = X509Identities.readCertificatesPem(chainPem);
    String keyAlgorithm = "EC".equals(chain.get(0).getPublicKey().getAlgorithm())
        ? "EC" : "Ed25519";
    return ofCertificate(chain, X509Identities.readPrivateKeyPem(keyPem, keyAlgorithm));
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

  /**
   * The raw 32-byte public key (a copy); for a certificate identity the leaf key's
   * SubjectPublicKeyInfo DER.
   */
  public byte[] rawPublicKey() {
    return rawPublicKey.clone();
  }

  /** The certificate chain, leaf first; empty for an Ed25519 raw-key identity. */
  public List<X509Certificate> certificateChain() {
    return chain;
  }

  /** True for a certificate identity. */
  public boolean isCertificate() {
    return !chain.isEmpty();
  }

  /**
   * The JDK signature algorithm this identity signs transcripts with: {@code Ed25519}, or
   * {@code SHA256withECDSAinP1363Format} for a P-256 certificate.
   */
  public String signatureAlgorithm() {
    return signatureAlgorithm;
  }

  /**
   * Printable id, as peers see it: {@code ed25519:<base64url of the public key>}, or for a
   * certificate {@code x509:<subject DN> sha256:<base64url of the leaf key's SPKI hash>}.
   */
  public String id() {
    return id;
  }

  @Override
  public String toString() {
    return "AltsLikeIdentity{" + id + "}";
  }
}
