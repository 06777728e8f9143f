package dev.grpclean.alts;

import dev.grpclean.alts.handshake.HandshakeOptions;
import dev.grpclean.alts.record.GcmProvider;
import dev.grpclean.alts.record.RecordProtocol;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.Collection;
import java.util.function.Predicate;

/**
 * Builder logic shared by {@link AltsLikeChannelCredentials.Builder} and {@link
 * AltsLikeServerCredentials.Builder}: every setter returns the concrete builder {@code B}, so
 * calls chain as before. "Peer" is the server for channel credentials and the client for server
 * credentials. Not thread-safe.
 *
 * @param <B> the concrete builder type
 */
abstract class AltsLikeCredentialsBuilder<B extends AltsLikeCredentialsBuilder<B>> {
  private final HandshakeOptions.Builder options = HandshakeOptions.newBuilder();

  AltsLikeCredentialsBuilder() {}

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }

  /** Builds the options set so far; for the concrete builder's {@code build()}. */
  final HandshakeOptions buildOptions() {
    return options.build();
  }

  /** Required: this side's Ed25519 key pair. */
  public B identity(AltsLikeIdentity identity) {
    options.identity(identity);
    return self();
  }

  /**
   * Required unless given by {@link #identity}: loads this side's key pair from PEM files (a
   * PKCS#8 {@code PRIVATE KEY} and an X.509 {@code PUBLIC KEY}, as {@code scripts/alts-keygen}
   * writes them).
   */
  public B identityFromPemFiles(Path privateKeyPem, Path publicKeyPem)
      throws IOException, GeneralSecurityException {
    return identity(AltsLikeIdentity.fromPemFiles(privateKeyPem, publicKeyPem));
  }

  /**
   * Accepts only peers (servers, for channel credentials; clients, for server credentials) whose
   * Ed25519 public key is one of these. One of this, {@link #peerVerifier} or {@link
   * #acceptAnyPeer} is required; the last call wins.
   */
  public B acceptPeers(Collection<PublicKey> publicKeys) {
    options.acceptPeers(publicKeys);
    return self();
  }

  /** As {@link #acceptPeers(Collection)}. */
  public B acceptPeers(PublicKey... publicKeys) {
    return acceptPeers(Arrays.asList(publicKeys));
  }

  /**
   * Accepts the peer (the server, for channel credentials; the client, for server credentials)
   * if {@code verifier} returns true for its authenticated identity; called on the connection's
   * loop thread during the handshake, so it must not block.
   */
  public B peerVerifier(Predicate<AltsLikePeer> verifier) {
    options.peerVerifier(verifier);
    return self();
  }

  /**
   * Accepts any peer (server, for channel credentials; client, for server credentials) that
   * proves it holds some Ed25519 key (the connection is still encrypted, and the key reaches
   * calls as {@link AltsLikePeer#PEER_IDENTITY_KEY} for authorization there).
   */
  public B acceptAnyPeer() {
    options.acceptAnyPeer();
    return self();
  }

  /**
   * Record protocols to allow, most preferred first. Default: {@link
   * RecordProtocol#AES_128_GCM_REKEY}, then {@link RecordProtocol#AES_128_GCM}.
   */
  public B recordProtocols(RecordProtocol... protocols) {
    options.recordProtocols(protocols);
    return self();
  }

  /** RPC protocol versions to allow; default [2.1, 2.1] as in gRPC's ALTS. */
  public B rpcProtocolVersions(RpcProtocolVersion min, RpcProtocolVersion max) {
    options.rpcProtocolVersions(min, max);
    return self();
  }

  /**
   * Size of the records this side sends (whole record, 24 bytes of it overhead), capped by what
   * the peer accepts. Default 4 KiB; larger records cost less CPU per byte.
   */
  public B recordBytes(int recordBytes) {
    options.recordBytes(recordBytes);
    return self();
  }

  /** Largest record this side accepts, announced to the peer. Default 1 MiB, at most 16 MiB. */
  public B maxInboundRecordBytes(int maxInboundRecordBytes) {
    options.maxInboundRecordBytes(maxInboundRecordBytes);
    return self();
  }

  /** AES-GCM provider for these connections; default {@link GcmProvider#active()}. */
  public B provider(GcmProvider provider) {
    options.provider(provider);
    return self();
  }
}
