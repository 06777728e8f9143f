package dev.grpclean.alts;

import dev.grpclean.alts.handshake.HandshakeOptions;
import dev.grpclean.transport.spi.HandshakerCredentials;
import dev.grpclean.transport.spi.HandshakerFactory;
import io.grpc.ChannelCredentials;

/**
 * Channel credentials for the ALTS-like handshake: the client proves its Ed25519 identity
 * and accepts only servers its policy allows.
 *
 * <pre>{@code
 * ChannelCredentials creds = AltsLikeChannelCredentials.newBuilder()
 *     .identityFromPemFiles(Path.of("client.key"), Path.of("client.pub"))
 *     .acceptPeers(Ed25519Keys.readPublicKeyPem(Path.of("server.pub")))
 *     .build();
 * ManagedChannel channel = LeanChannelBuilder.forAddress(host, port, creds).build();
 * }</pre>
 *
 * <p>Only the lean transport understands these credentials (through {@link
 * HandshakerCredentials}); the wire protocol is described in the module README.
 *
 * <p>Thread-safe (immutable).
 */
public final class AltsLikeChannelCredentials extends ChannelCredentials
    implements HandshakerCredentials {
  private final AltsLikeHandshakers handshakers;

  private AltsLikeChannelCredentials(HandshakeOptions options) {
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

  /** Holds no bearer tokens: returns itself. */
  @Override
  public ChannelCredentials withoutBearerTokens() {
    return this;
  }

  /**
   * Builder for {@link AltsLikeChannelCredentials}; "peer" in its methods means the server.
   * Not thread-safe.
   */
  public static final class Builder extends AltsLikeCredentialsBuilder<Builder> {
    private Builder() {}

    /**
     * @throws IllegalStateException without an identity or a peer policy
     */
    public AltsLikeChannelCredentials build() {
      return new AltsLikeChannelCredentials(buildOptions());
    }
  }
}
