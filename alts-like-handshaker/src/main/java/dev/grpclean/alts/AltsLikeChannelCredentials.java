package dev.grpclean.alts;

import dev.grpclean.alts.handshake.HandshakeOptions;
import dev.grpclean.transport.spi.HandshakerCredentials;
import dev.grpclean.transport.spi.HandshakerFactory;
import io.grpc.ChannelCredentials;
import java.security.PublicKey;
import java.util.Collection;

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
     * Refused: a client that accepts any server is open to an active attacker, who would then
     * receive the call credentials' bearer tokens. Use {@link #acceptAnyServerUnauthenticated}
     * if that is really meant.
     *
     * @throws UnsupportedOperationException always
     * @deprecated the server must be authenticated; see above
     */
    @Deprecated
    @Override
    public Builder acceptAnyPeer() {
      throw new UnsupportedOperationException("acceptAnyPeer() is not allowed on channel"
          + " credentials: the server would be unauthenticated while the connection claims"
          + " privacy; use acceptPeers, acceptPeersFor, trustCertificates or peerVerifier, or"
          + " acceptAnyServerUnauthenticated() for a connection encrypted only against passive"
          + " observers");
    }

    /**
     * Accepts any server, unauthenticated: the connection is encrypted, but an active attacker can
     * complete the handshake in the server's place. Its calls see {@code
     * GrpcAttributes.ATTR_SECURITY_LEVEL = NONE}, so the lean transport sends no channel call
     * credentials over it (the call fails UNAUTHENTICATED instead) and level-checking call
     * credentials refuse too. For tests and tools, not for production.
     */
    public Builder acceptAnyServerUnauthenticated() {
      options.acceptAnyServerUnauthenticated();
      return this;
    }

    /**
     * Accepts a raw-key server with one of these Ed25519 keys only when the channel's authority
     * names {@code host} (compared case-insensitively, port ignored); call once per host. May be
     * combined with {@link #acceptPeers}, whose keys are accepted for every host.
     */
    public Builder acceptPeersFor(String host, Collection<PublicKey> publicKeys) {
      options.acceptPeersFor(host, publicKeys);
      return this;
    }

    /**
     * Server certificates must carry a subject alternative name matching {@code name} instead of
     * the host of the channel's authority (for a server reached by an address its certificate does
     * not name). The channel's {@code overrideAuthority} changes the authority checked too.
     */
    public Builder expectedServerName(String name) {
      options.expectedServerName(name);
      return this;
    }

    /**
     * Server certificates are not matched against any name: only chain, role and the {@link
     * #peerVerifier(java.util.function.BiPredicate)}, which sees the authority, decide. Requires
     * a peer verifier, since without a name check any server certificate of the trusted roots
     * would be accepted for every target.
     */
    public Builder disableServerNameCheck() {
      options.disableServerNameCheck();
      return this;
    }

    /**
     * @throws IllegalStateException without an identity or a peer policy
     */
    public AltsLikeChannelCredentials build() {
      return new AltsLikeChannelCredentials(buildOptions());
    }
  }
}
