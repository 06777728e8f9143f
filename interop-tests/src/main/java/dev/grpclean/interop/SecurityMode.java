package dev.grpclean.interop;

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
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Locale;

/**
 * The {@code --security} modes, each turned into standard credentials objects so every transport
 * gets the same thing: plaintext; TLS with grpc's test certificates (server {@code server1.pem},
 * valid for {@code *.test.google.fr}; the client trusts {@code ca.pem} with {@code
 * --use_test_ca}); or our ALTS-like handshake, which only the lean transport speaks.
 *
 * <p>Immutable.
 */
enum SecurityMode {
  INSECURE,
  TLS,
  ALTS_LIKE;

  /** The channel credentials for this mode. */
  ChannelCredentials channelCredentials(SecurityOptions options) {
    switch (this) {
      case INSECURE:
        return InsecureChannelCredentials.create();
      case TLS:
        if (!options.useTestCa()) {
          return TlsChannelCredentials.create();
        }
        try (InputStream ca = TlsTesting.loadCert("ca.pem")) {
          return TlsChannelCredentials.newBuilder().trustManager(ca).build();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      case ALTS_LIKE:
        AltsLikeChannelCredentials.Builder channel =
            AltsLikeChannelCredentials.newBuilder().identity(altsLikeIdentity(options));
        if (options.altsLikePeerPubFile() == null) {
          channel.acceptAnyServerUnauthenticated();
        } else {
          channel.acceptPeers(altsLikePeerKey(options));
        }
        return channel.build();
      default:
        throw new AssertionError(this);
    }
  }

  /** The server credentials for this mode. */
  ServerCredentials serverCredentials(SecurityOptions options) {
    switch (this) {
      case INSECURE:
        return InsecureServerCredentials.create();
      case TLS:
        try (InputStream cert = TlsTesting.loadCert("server1.pem");
            InputStream key = TlsTesting.loadCert("server1.key")) {
          return TlsServerCredentials.create(cert, key);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      case ALTS_LIKE:
        AltsLikeServerCredentials.Builder server =
            AltsLikeServerCredentials.newBuilder().identity(altsLikeIdentity(options));
        if (options.altsLikePeerPubFile() == null) {
          server.acceptAnyPeer();
        } else {
          server.acceptPeers(altsLikePeerKey(options));
        }
        return server.build();
      default:
        throw new AssertionError(this);
    }
  }

  private static AltsLikeIdentity altsLikeIdentity(SecurityOptions options) {
    try {
      if (options.altsLikeKeyFile() == null) {
        return AltsLikeIdentity.generate();
      }
      return AltsLikeIdentity.fromPemFiles(
          Path.of(options.altsLikeKeyFile()), Path.of(options.altsLikePubFile()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("bad alts_like identity: " + e.getMessage(), e);
    }
  }

  private static java.security.PublicKey altsLikePeerKey(SecurityOptions options) {
    try {
      return Ed25519Keys.readPublicKeyPem(Path.of(options.altsLikePeerPubFile()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("bad alts_like peer key: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Reads {@code --security}, or else the standard {@code --use_tls} (plaintext by default, unlike
   * grpc-java's runners, whose {@code --use_tls} defaults to true).
   */
  static SecurityMode fromFlags(Flags flags) {
    boolean useTls = flags.bool("use_tls", false);
    if (!flags.has("security")) {
      return useTls ? TLS : INSECURE;
    }
    SecurityMode mode;
    try {
      mode = valueOf(flags.string("security", "").toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new Flags.UsageException(
          "--security wants insecure, tls or alts_like, got " + flags.string("security", ""));
    }
    if (flags.has("use_tls") && useTls != (mode == TLS)) {
      throw new Flags.UsageException("--use_tls=" + useTls + " contradicts --security=" + mode);
    }
    return mode;
  }
}
