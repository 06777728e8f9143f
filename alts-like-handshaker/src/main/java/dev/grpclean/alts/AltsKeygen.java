package dev.grpclean.alts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;

/**
 * {@code alts-keygen OUT_PREFIX}: writes a new Ed25519 identity to {@code OUT_PREFIX.key} (PKCS#8
 * PEM, owner-only where the file system allows) and {@code OUT_PREFIX.pub} (X.509
 * SubjectPublicKeyInfo PEM), and prints its id. Never overwrites an existing file.
 *
 * <p>Thread-compatible (a main).
 */
public final class AltsKeygen {
  private AltsKeygen() {}

  public static void main(String[] args) {
    if (args.length != 1 || args[0].startsWith("-")) {
      System.err.println(
          "usage: alts-keygen OUT_PREFIX   (writes OUT_PREFIX.key and OUT_PREFIX.pub)");
      System.exit(2);
    }
    try {
      AltsLikeIdentity identity = generate(args[0]);
      System.out.println(identity.id());
    } catch (IOException | GeneralSecurityException e) {
      System.err.println("alts-keygen: " + e);
      System.exit(1);
    }
  }

  /** Generates and writes the pair; returns the new identity. */
  public static AltsLikeIdentity generate(String outPrefix)
      throws IOException, GeneralSecurityException {
    Path keyFile = Path.of(outPrefix + ".key");
    Path pubFile = Path.of(outPrefix + ".pub");
    for (Path p : new Path[] {keyFile, pubFile}) {
      if (Files.exists(p)) {
        throw new FileAlreadyExistsException(p.toString(), null, "refusing to overwrite");
      }
    }
    AltsLikeIdentity identity = AltsLikeIdentity.generate();
    Path parent = keyFile.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try {
      Files.createFile(keyFile, PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(keyFile);
    }
    Files.write(keyFile, Ed25519Keys.privateKeyPem(identity.privateKey())
        .getBytes(StandardCharsets.US_ASCII), StandardOpenOption.TRUNCATE_EXISTING);
    Files.write(pubFile, Ed25519Keys.publicKeyPem(identity.publicKey())
        .getBytes(StandardCharsets.US_ASCII), StandardOpenOption.CREATE_NEW);
    return identity;
  }
}
