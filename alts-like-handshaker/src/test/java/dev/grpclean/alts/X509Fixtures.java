package dev.grpclean.alts;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;

/** The PEM fixtures under {@code src/test/resources/x509} (see the README there). */
public final class X509Fixtures {
  private X509Fixtures() {}

  public static Path path(String name) {
    try {
      return Path.of(X509Fixtures.class.getResource("/x509/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new AssertionError(e);
    }
  }

  /** {@code name.pem} with {@code name.key}: client, server (test CA) or stranger (other CA). */
  public static AltsLikeIdentity identity(String name) throws Exception {
    return AltsLikeIdentity.fromCertificatePemFiles(path(name + ".pem"), path(name + ".key"));
  }

  public static X509Certificate certificate(String name) throws Exception {
    return X509Identities.readCertificatesPem(path(name + ".pem")).get(0);
  }

  /** The test CA that issued client and server. */
  public static List<X509Certificate> ca() throws Exception {
    return List.of(certificate("ca"));
  }
}
