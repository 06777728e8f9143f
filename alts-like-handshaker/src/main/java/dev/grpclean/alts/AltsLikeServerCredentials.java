package dev.grpclean.alts;

import dev.grpclean.alts.handshake.AltsLikeHandshakerFactory;
import dev.grpclean.alts.handshake.HandshakeOptions;
import dev.grpclean.alts.record.GcmProvider;
import dev.grpclean.alts.record.RecordProtocol;
import dev.grpclean.transport.spi.HandshakerCredentials;
import dev.grpclean.transport.spi.HandshakerFactory;
import io.grpc.ServerCredentials;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.Collection;
import java.util.function.Predicate;

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
  private final HandshakeOptions options;
  private final AltsLikeHandshakerFactory clientFactory;
  private final AltsLikeHandshakerFactory serverFactory;

  private AltsLikeServerCredentials(HandshakeOptions options) {
    this.options = options;
    this.clientFactory = new AltsLikeHandshakerFactory(options, true);
    this.serverFactory = new AltsLikeHandshakerFactory(options, false);
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** This side's identity. */
  public AltsLikeIdentity identity() {
    return options.identity();
  }

  @Override
  public HandshakerFactory handshakerFactory(boolean client) {
    return client ? clientFactory : serverFactory;
  }

  /** Builder for {@link AltsLikeServerCredentials}. Not thread-safe. */
  public static final class Builder {
    private final HandshakeOptions.Builder options = HandshakeOptions.newBuilder();

    private Builder() {}

    /** Required: this side's Ed25519 key pair. */
    public Builder identity(AltsLikeIdentity identity) {
      options.identity(identity);
      return this;
    }

    /**
     * Required unless given by {@link #identity}: loads this side's key pair from PEM files (a
     * PKCS#8 {@code PRIVATE KEY} and an X.509 {@code PUBLIC KEY}, as {@code scripts/alts-keygen}
     * writes them).
     */
    public Builder identityFromPemFiles(Path privateKeyPem, Path publicKeyPem)
        throws IOException, GeneralSecurityException {
      return identity(AltsLikeIdentity.fromPemFiles(privateKeyPem, publicKeyPem));
    }

    /**
     * Accepts only clients whose Ed25519 public key is one of these. One of this, {@link
     * #peerVerifier} or {@link #acceptAnyPeer} is required; the last call wins.
     */
    public Builder acceptPeers(Collection<PublicKey> publicKeys) {
      options.acceptPeers(publicKeys);
      return this;
    }

    /** As {@link #acceptPeers(Collection)}. */
    public Builder acceptPeers(PublicKey... publicKeys) {
      return acceptPeers(Arrays.asList(publicKeys));
    }

    /**
     * Accepts the client if {@code verifier} returns true for its authenticated identity;
     * called on the connection's loop thread during the handshake, so it must not block.
     */
    public Builder peerVerifier(Predicate<AltsLikePeer> verifier) {
      options.peerVerifier(verifier);
      return this;
    }

    /**
     * Accepts any client that proves it holds some Ed25519 key (the connection is still
     * encrypted, and the key reaches calls as {@link AltsLikePeer#PEER_IDENTITY_KEY} for
     * authorization there).
     */
    public Builder acceptAnyPeer() {
      options.acceptAnyPeer();
      return this;
    }

    /**
     * Record protocols to allow, most preferred first. Default: {@link
     * RecordProtocol#AES_128_GCM_REKEY}, then {@link RecordProtocol#AES_128_GCM}.
     */
    public Builder recordProtocols(RecordProtocol... protocols) {
      options.recordProtocols(protocols);
      return this;
    }

    /** RPC protocol versions to allow; default [2.1, 2.1] as in gRPC's ALTS. */
    public Builder rpcProtocolVersions(RpcProtocolVersion min, RpcProtocolVersion max) {
      options.rpcProtocolVersions(min, max);
      return this;
    }

    /**
     * Size of the records this side sends (whole record, 24 bytes of it overhead), capped by what
     * the peer accepts. Default 4 KiB; larger records cost less CPU per byte.
     */
    public Builder recordBytes(int recordBytes) {
      options.recordBytes(recordBytes);
      return this;
    }

    /** Largest record this side accepts, announced to the peer. Default 1 MiB, at most 16 MiB. */
    public Builder maxInboundRecordBytes(int maxInboundRecordBytes) {
      options.maxInboundRecordBytes(maxInboundRecordBytes);
      return this;
    }

    /** AES-GCM provider for these connections; default {@link GcmProvider#active()}. */
    public Builder provider(GcmProvider provider) {
      options.provider(provider);
      return this;
    }

    /**
     * @throws IllegalStateException without an identity or a peer policy
     */
    public AltsLikeServerCredentials build() {
      return new AltsLikeServerCredentials(options.build());
    }
  }
}
