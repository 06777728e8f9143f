package dev.grpclean.alts;

import dev.grpclean.alts.handshake.HandshakeOptions;
import dev.grpclean.transport.spi.HandshakerCredentials;
import dev.grpclean.transport.spi.HandshakerFactory;
import io.grpc.ServerCredentials;

/**
 * Server credentials for the ALTS-like handshake: the server proves its Ed25519 identity and
 * accepts only clients its policy allows.
 *
 * <pre>{@code
 * ServerCredentials creds = AltsLikeServerCredentials.newBuilder()
 *     .identityFromPemFiles(Path.of("server.key"), Path.of("server.pub"))
 *     .acceptPeers(Ed25519Keys.readPublicKeyPem(Path.of("client.pub")))
 *     .build();
 * Server server = LeanServerBuilder.forPort(port, creds).addService(service).build();
 * }</pre>
 *
 * <p>Only the lean transport understands these credentials (through {@link
 * HandshakerCredentials}); the wire protocol is described in the module README.
 *
 * <p>Thread-safe (immutable).
 */
public final class AltsLikeServerCredentials extends ServerCredentials
    implements HandshakerCredentials {
  private final AltsLikeHandshakers handshakers;

  private AltsLikeServerCredentials(HandshakeOptions options) {
    this.handshakers = new AltsLikeHandshakers(options);
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** This side's identity. */
  public AltsLikeIdentity identity() {
    return handshakers.identity();
  }

  @Override
  public HandshakerFactory handshakerFactory(boolean client) {
    return handshakers.factory(client);
  }

  /**
   * Builder for {@link AltsLikeServerCredentials}; "peer" in its methods means the client.
   * Not thread-safe.
   */
  public static final class Builder extends AltsLikeCredentialsBuilder<Builder> {
    private Builder() {}

    /**
     * Most handshakes in progress at once, over every connection of servers using these
     * credentials; a connection beyond it is closed before any handshake work. Default {@value
     * HandshakeOptions#DEFAULT_MAX_CONCURRENT_HANDSHAKES}. Handshake work (X25519, signatures,
     * certificate validation) runs on the connection's loop thread, so this bounds how much of the
     * loops a flood of unauthenticated handshakes can take from established connections.
     */
    public Builder maxConcurrentHandshakes(int max) {
      options.maxConcurrentHandshakes(max);
      return this;
    }

    /**
     * @throws IllegalStateException without an identity or a peer policy
     */
    public AltsLikeServerCredentials build() {
      return new AltsLikeServerCredentials(buildOptions());
    }
  }
}
