package dev.grpclean.transport.tls;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.annotation.Nullable;
import javax.crypto.Cipher;
import javax.crypto.EncryptedPrivateKeyInfo;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * PEM key material as grpc's TLS credentials carry it: X.509 certificates, and a PKCS#8 private
 * key (RFC 5208), optionally password-encrypted (RFC 5958 {@code ENCRYPTED PRIVATE KEY}), the
 * forms grpc-netty accepts too.
 *
 * <p>Stateless; thread-safe.
 */
final class Pem {
  private static final Pattern BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");

  private Pem() {}

  /** Every certificate in {@code pem}, in order. */
  static X509Certificate[] certificates(byte[] pem) throws GeneralSecurityException {
    Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(pem));
    if (certs.isEmpty()) {
      throw new GeneralSecurityException("no certificate in the PEM data");
    }
    List<X509Certificate> out = new ArrayList<>(certs.size());
    for (Certificate c : certs) {
      out.add((X509Certificate) c);
    }
    return out.toArray(new X509Certificate[0]);
  }

  /**
   * The private key in {@code pem}, of the certificate's key algorithm when it parses as that.
   *
   * @param password for an {@code ENCRYPTED PRIVATE KEY}; ignored otherwise
   */
  static PrivateKey privateKey(byte[] pem, @Nullable String password, X509Certificate cert)
      throws GeneralSecurityException {
    Matcher m = BLOCK.matcher(new String(pem, StandardCharsets.US_ASCII));
    while (m.find()) {
      String type = m.group(1);
      byte[] der = Base64.getMimeDecoder().decode(m.group(2));
      switch (type) {
        case "PRIVATE KEY":
          return pkcs8(new PKCS8EncodedKeySpec(der), cert);
        case "ENCRYPTED PRIVATE KEY":
          if (password == null) {
            throw new GeneralSecurityException("the private key is encrypted and no password was"
                + " given");
          }
          return pkcs8(decrypt(der, password), cert);
        case "RSA PRIVATE KEY":
        case "EC PRIVATE KEY":
        case "DSA PRIVATE KEY":
          throw new GeneralSecurityException("private key in the legacy \"" + type + "\" form:"
              + " convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
        default:
          // Another block (a certificate next to the key): skip it.
      }
    }
    throw new GeneralSecurityException("no \"PRIVATE KEY\" block in the PEM data");
  }

  private static PKCS8EncodedKeySpec decrypt(byte[] der, String password)
      throws GeneralSecurityException {
    EncryptedPrivateKeyInfo info;
    try {
      info = new EncryptedPrivateKeyInfo(der);
    } catch (java.io.IOException e) {
      throw new InvalidKeySpecException("malformed encrypted private key", e);
    }
    SecretKeyFactory keyFactory = SecretKeyFactory.getInstance(info.getAlgName());
    Cipher cipher = Cipher.getInstance(info.getAlgName());
    cipher.init(Cipher.DECRYPT_MODE,
        keyFactory.generateSecret(new PBEKeySpec(password.toCharArray())),
        info.getAlgParameters());
    return info.getKeySpec(cipher);
  }

  private static PrivateKey pkcs8(PKCS8EncodedKeySpec spec, X509Certificate cert)
      throws GeneralSecurityException {
    Set<String> algorithms = new LinkedHashSet<>();
    algorithms.add(cert.getPublicKey().getAlgorithm());
    algorithms.add("RSA");
    algorithms.add("EC");
    algorithms.add("Ed25519");
    algorithms.add("Ed448");
    GeneralSecurityException first = null;
    for (String algorithm : algorithms) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (GeneralSecurityException e) {
        if (first == null) {
          first = e;
        }
      }
    }
    throw new InvalidKeySpecException("cannot parse the PKCS#8 private key", first);
  }
}
