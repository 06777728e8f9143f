package dev.grpclean.alts;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.annotation.Nullable;

/**
 * X.509 helpers for certificate identities: supported leaf key types and their transcript
 * signature algorithms, printable ids, PEM loading, DER parsing and PKIX chain validation. Public
 * only so the handshake package can use it.
 *
 * <p>Thread-safe (stateless).
 */
public final class X509Identities {
  /** Largest certificate chain, all DER certificates together, accepted or sent. */
  public static final int MAX_CHAIN_BYTES = 16 * 1024;
  /** Most certificates in a chain. */
  public static final int MAX_CHAIN_CERTIFICATES = 8;

  private static final Pattern PRIVATE_KEY_PEM = Pattern.compile(
      "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  private X509Identities() {}

  /**
   * The JDK signature algorithm for a leaf key: {@code Ed25519} for Ed25519 keys, ECDSA with
   * SHA-256 for P-256 keys (fixed-size IEEE P1363 r‖s encoding, 64 bytes like Ed25519).
   *
   * @throws GeneralSecurityException for any other key type
   */
  public static String signatureAlgorithm(PublicKey key) throws GeneralSecurityException {
    String alg = key.getAlgorithm();
    if ("Ed25519".equalsIgnoreCase(alg) || "EdDSA".equalsIgnoreCase(alg)) {
      Ed25519Keys.rawPublicKey(key); // Rejects Ed448.
      return "Ed25519";
    }
    if (key instanceof ECPublicKey && isP256(((ECPublicKey) key).getParams())) {
      return "SHA256withECDSAinP1363Format";
    }
    throw new GeneralSecurityException("certificate key type " + describe(key)
        + " is not supported; use Ed25519 or EC P-256");
  }

  private static boolean isP256(ECParameterSpec params) throws GeneralSecurityException {
    AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
    p.init(new ECGenParameterSpec("secp256r1"));
    ECParameterSpec p256 = p.getParameterSpec(ECParameterSpec.class);
    return params.getCurve().equals(p256.getCurve())
        && params.getGenerator().equals(p256.getGenerator())
        && params.getOrder().equals(p256.getOrder());
  }

  private static String describe(PublicKey key) {
    if (key instanceof ECPublicKey) {
      return "EC (" + ((ECPublicKey) key).getParams().getCurve().getField().getFieldSize()
          + "-bit curve other than P-256)";
    }
    return key.getAlgorithm();
  }

  /** {@code x509:<subject DN (RFC 2253)> sha256:<base64url SHA-256 of the leaf's SPKI>}. */
  public static String id(X509Certificate leaf) {
    try {
      byte[] fp = MessageDigest.getInstance("SHA-256").digest(leaf.getPublicKey().getEncoded());
      return "x509:" + leaf.getSubjectX500Principal().getName() + " sha256:"
          + Base64.getUrlEncoder().withoutPadding().encodeToString(fp);
    } catch (GeneralSecurityException e) {
      throw new AssertionError("SHA-256 is always available", e);
    }
  }

  /** One DER certificate, exactly: trailing bytes or a non-X.509 encoding fail. */
  public static X509Certificate parseDer(byte[] der) throws CertificateException {
    Certificate cert = CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(der));
    if (!(cert instanceof X509Certificate)
        || !java.util.Arrays.equals(cert.getEncoded(), der)) {
      throw new CertificateException("not exactly one DER X.509 certificate");
    }
    return (X509Certificate) cert;
  }

  /** The certificates of a PEM file, in file order (leaf first for a chain). */
  public static List<X509Certificate> readCertificatesPem(Path file)
      throws IOException, GeneralSecurityException {
    List<X509Certificate> out = new ArrayList<>();
    try (InputStream in = Files.newInputStream(file)) {
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        out.add((X509Certificate) c);
      }
    }
    if (out.isEmpty()) {
      throw new CertificateException("no certificate in " + file);
    }
    return out;
  }

  /** A PKCS#8 {@code PRIVATE KEY} PEM file of the given algorithm ({@code EC} or Ed25519). */
  public static PrivateKey readPrivateKeyPem(Path file, String algorithm)
      throws IOException, GeneralSecurityException {
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    Matcher m = PRIVATE_KEY_PEM.matcher(pem);
    if (!m.find()) {
      throw new GeneralSecurityException(file + " has no PKCS#8 PRIVATE KEY block (convert with"
          + " `openssl pkcs8 -topk8 -nocrypt`)");
    }
    byte[] der = Base64.getMimeDecoder().decode(m.group(1));
    return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
  }

  /** Trust anchors from root certificates. */
  public static Set<TrustAnchor> anchors(Collection<X509Certificate> roots) {
    Set<TrustAnchor> anchors = new java.util.LinkedHashSet<>();
    for (X509Certificate root : roots) {
      anchors.add(new TrustAnchor(root, null));
    }
    if (anchors.isEmpty()) {
      throw new IllegalArgumentException("no trusted root certificates given");
    }
    return java.util.Collections.unmodifiableSet(anchors);
  }

  /**
   * Validates a chain (leaf first) with the JDK's PKIX validator against {@code anchors},
   * revocation off, at {@code date} (null: now). A trailing certificate that is itself an anchor
   * is dropped first. The leaf must allow digital signatures if it has a key usage extension.
   *
   * @throws CertPathValidatorException (or another GeneralSecurityException) with the reason
   */
  public static void validate(List<X509Certificate> chain, Set<TrustAnchor> anchors,
      @Nullable Date date) throws GeneralSecurityException {
    List<X509Certificate> path = new ArrayList<>(chain);
    while (path.size() > 1 && isAnchor(path.get(path.size() - 1), anchors)) {
      path.remove(path.size() - 1);
    }
    CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
    PKIXParameters params = new PKIXParameters(anchors);
    params.setRevocationEnabled(false);
    if (date != null) {
      params.setDate(date);
    }
    CertPathValidator.getInstance("PKIX").validate(certPath, params);
    boolean[] usage = chain.get(0).getKeyUsage();
    if (usage != null && !usage[0]) {
      throw new CertificateException("leaf certificate does not allow digitalSignature");
    }
  }

  private static boolean isAnchor(X509Certificate cert, Set<TrustAnchor> anchors) {
    for (TrustAnchor a : anchors) {
      if (cert.equals(a.getTrustedCert())) {
        return true;
      }
    }
    return false;
  }
}
