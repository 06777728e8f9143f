package dev.grpclean.bench;

import dev.grpclean.alts.AltsLikeChannelCredentials;
import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.AltsLikeServerCredentials;
import dev.grpclean.alts.Ed25519Keys;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.testing.TlsTesting;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.util.Locale;

/**
 * The connection security of a run ({@code --security}), and the credentials each side builds
 * for it.
 *
 * <ul>
 *   <li>{@code tls}: grpc-testing's test CA; the server presents {@code server1.pem}, clients
 *       trust {@code ca.pem} and override the authority to {@value #TLS_AUTHORITY}.
 *   <li>{@code alts_like}: the lean transport's ALTS record protocol behind its own handshake
 *       ({@code alts-like-handshaker}). The parent generates a server and a client Ed25519 key
 *       pair into a private temporary directory ({@link #writeAltsLikeKeys}) and passes its path
 *       to both children; each side loads its own pair and accepts only the other's public key.
 * </ul>
 *
 * <p>Thread-safe (stateless).
 */
public enum Security {
  INSECURE,
  TLS,
  ALTS_LIKE;

  /** The name {@code server1.pem} is issued for (grpc-testing's test certificates). */
  public static final String TLS_AUTHORITY = "foo.test.google.fr";

  /** The name used on the command line and in reports. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The mode named {@code id}, ignoring case; IllegalArgumentException listing the choices. */
  public static Security parse(String id) {
    for (Security s : values()) {
      if (s.id().equalsIgnoreCase(id.trim())) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "--security must be insecure, tls or alts_like, not '" + id + "'");
  }

  /** Whether {@code transport} can run in this mode: alts_like exists only for lean. */
  public boolean supports(Transport transport) {
    return this != ALTS_LIKE || transport.isLean();
  }

  /** The authority clients must claim (TLS: the test certificate's name), or null. */
  public String authorityOverride() {
    return this == TLS ? TLS_AUTHORITY : null;
  }

  /** Server credentials; {@code keys} is the alts_like key directory (else unused). */
  public ServerCredentials serverCredentials(Path keys)
      throws IOException, GeneralSecurityException {
    switch (this) {
      case TLS:
        try (InputStream chain = TlsTesting.loadCert("server1.pem");
            InputStream key = TlsTesting.loadCert("server1.key")) {
          return TlsServerCredentials.create(chain, key);
        }
      case ALTS_LIKE:
        return AltsLikeServerCredentials.newBuilder()
            .identityFromPemFiles(keys.resolve("server.key"), keys.resolve("server.pub"))
            .acceptPeers(Ed25519Keys.readPublicKeyPem(keys.resolve("client.pub")))
            .build();
      default:
        return InsecureServerCredentials.create();
    }
  }

  /** Channel credentials; {@code keys} is the alts_like key directory (else unused). */
  public ChannelCredentials channelCredentials(Path keys)
      throws IOException, GeneralSecurityException {
    switch (this) {
      case TLS:
        try (InputStream ca = caCertificate()) {
          return TlsChannelCredentials.newBuilder().trustManager(ca).build();
        }
      case ALTS_LIKE:
        return AltsLikeChannelCredentials.newBuilder()
            .identityFromPemFiles(keys.resolve("client.key"), keys.resolve("client.pub"))
            .acceptPeers(Ed25519Keys.readPublicKeyPem(keys.resolve("server.pub")))
            .build();
      default:
        return InsecureChannelCredentials.create();
    }
  }

  /** grpc-testing's test CA certificate, PEM; the caller closes it. */
  public static InputStream caCertificate() throws IOException {
    return TlsTesting.loadCert("ca.pem");
  }

  /**
   * A fresh directory, readable by this user only, holding {@code server.key/.pub} and
   * {@code client.key/.pub}: new Ed25519 pairs in PEM. The caller deletes it
   * ({@link #deleteKeys}).
   */
  static Path writeAltsLikeKeys() throws IOException, GeneralSecurityException {
    Path dir;
    try {
      dir = Files.createTempDirectory("bench-alts-like-",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (UnsupportedOperationException e) {
      dir = Files.createTempDirectory("bench-alts-like-");
    }
    for (String side : new String[] {"server", "client"}) {
      AltsLikeIdentity id = AltsLikeIdentity.generate();
      Files.writeString(dir.resolve(side + ".key"), Ed25519Keys.privateKeyPem(id.privateKey()),
          StandardCharsets.US_ASCII);
      Files.writeString(dir.resolve(side + ".pub"), Ed25519Keys.publicKeyPem(id.publicKey()),
          StandardCharsets.US_ASCII);
    }
    return dir;
  }

  /** Deletes a directory made by {@link #writeAltsLikeKeys}; null is ignored. */
  static void deleteKeys(Path dir) {
    if (dir == null) {
      return;
    }
    for (String name : new String[] {"server.key", "server.pub", "client.key", "client.pub"}) {
      try {
        Files.deleteIfExists(dir.resolve(name));
      } catch (IOException e) {
        // Best effort: it is a temporary directory.
      }
    }
    try {
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      // Best effort.
    }
  }
}
