package dev.grpclean.alts;

import dev.grpclean.alts.handshake.HandshakeOptions;
import dev.grpclean.alts.record.GcmProvider;
import dev.grpclean.alts.record.RecordProtocol;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.function.BiPredicate;
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
  final HandshakeOptions.Builder options = HandshakeOptions.newBuilder();

  AltsLikeCredentialsBuilder() {}

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }

  /** Builds the options set so far; for the concrete builder's {@code build()}. */
  final HandshakeOptions buildOptions() {
    return options.build();
  }

  /** Required (or a certificate identity): this side's Ed25519 key pair or certificate. */
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
   * Required unless given by {@link #identity}: an X.509 certificate identity, {@code chain}
   * leaf first, and the leaf's private key (Ed25519 or EC P-256). Peers need {@link
   * #trustCertificates} with a root this chain leads to.
   *
   * @throws GeneralSecurityException see {@link AltsLikeIdentity#ofCertificate}
   */
  public B certificateIdentity(List<X509Certificate> chain, PrivateKey key)
      throws GeneralSecurityException {
    return identity(AltsLikeIdentity.ofCertificate(chain, key));
  }

  /**
   * As {@link #certificateIdentity}, from PEM files: the certificates, leaf first, and the leaf's
   * PKCS#8 {@code PRIVATE KEY}.
   */
  public B certificateIdentityFromPemFiles(Path chainPem, Path keyPem)
      throws IOException, GeneralSecurityException {
    return identity(AltsLikeIdentity.fromCertificatePemFiles(chainPem, keyPem));
  }

  /**
   * Accepts peers presenting a certificate chain that the JDK's PKIX validator (revocation off)
   * validates to one of {@code roots} at the current time, whose leaf is no CA certificate and
   * names the peer's role in its extended key usage ({@code serverAuth} for a server, {@code
   * clientAuth} for a client); a server's leaf must also carry a subject alternative name
   * matching the host of the channel's authority (RFC 6125: DNS names, a wildcard only as the
   * whole left-most label, IP addresses; no common-name fallback) unless the channel builder
   * sets {@code expectedServerName} or {@code disableServerNameCheck}. A {@link #peerVerifier}
   * or {@link #acceptAnyPeer}, if also set, then judges them too. Without this, certificate peers
   * are rejected. Raw-key peers are judged only by {@link #acceptPeers}, {@link #peerVerifier} or
   * {@link #acceptAnyPeer}; with none of those set, they are rejected.
   */
  public B trustCertificates(Collection<X509Certificate> roots) {
    options.trustCertificates(roots);
    return self();
  }

  /**
   * Accepts only raw-key peers (servers, for channel credentials; clients, for server
   * credentials) whose Ed25519 public key is one of these (certificate peers are judged by {@link
   * #trustCertificates} alone). For channel credentials these keys are accepted as the server of
   * every target: a channel talking to several services should bind each key to its host with
   * {@code AltsLikeChannelCredentials.Builder.acceptPeersFor}. One of this, {@link
   * #peerVerifier}, {@link #acceptAnyPeer} or {@link #trustCertificates} is required.
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
   * if {@code verifier} returns true for its authenticated identity (for a certificate peer,
   * after its chain, role and names were checked); called on the connection's loop thread during
   * the handshake, so it must not block, and again on the caller's thread for each call that
   * overrides the authority ({@code CallOptions.withAuthority}) in channel credentials.
   */
  public B peerVerifier(Predicate<AltsLikePeer> verifier) {
    options.peerVerifier(verifier);
    return self();
  }

  /**
   * As {@link #peerVerifier(Predicate)}, with the target too: {@code verifier} gets the peer and
   * the authority the channel connects to ({@code host[:port]}; null in server credentials), so
   * it can bind identities to targets.
   */
  public B peerVerifier(BiPredicate<AltsLikePeer, String> verifier) {
    options.peerVerifier(verifier);
    return self();
  }

  /**
   * Server credentials: accepts any client that proves it holds some Ed25519 key (the key reaches
   * calls as {@link AltsLikePeer#PEER_IDENTITY_KEY} for authorization there; the server still
   * proves its own identity, as a TLS server does without client authentication). Certificate
   * peers still need a chain to a {@link #trustCertificates} root. Channel credentials refuse
   * this: see {@code AltsLikeChannelCredentials.Builder.acceptAnyServerUnauthenticated}. One of
   * {@link #acceptPeers}, {@link #peerVerifier} and this, at most.
   */
  public B acceptAnyPeer() {
    options.acceptAnyPeer();
    return self();
  }

  /**
   * Record protocols to allow, most preferred first. Default: only {@link
   * RecordProtocol#AES_128_GCM_REKEY}. {@link RecordProtocol#AES_128_GCM} uses one key for up to
   * 2^40 records, far beyond the 2^24.5 records per key RFC 8446 §5.5 allows AES-GCM; allow it
   * only for peers that speak nothing else.
   */
  public B recordProtocols(RecordProtocol... protocols) {
    options.recordProtocols(protocols);
    return self();
  }

  /**
   * Lowest handshake version to speak. Default 1: peers that speak only version 1 (whose
   * handshakes carry both identities in clear) are still served; 2 refuses them, so no identity
   * of these credentials' connections ever crosses the wire unencrypted.
   */
  public B minHandshakeVersion(int min) {
    options.minHandshakeVersion(min);
    return self();
  }

  /** RPC protocol versions to allow; default [2.1, 2.1] as in gRPC's ALTS. */
  public B rpcProtocolVersions(RpcProtocolVersion min, RpcProtocolVersion max) {
    options.rpcProtocolVersions(min, max);
    return self();
  }

  /**
   * Size of the records this side sends (whole record, 24 bytes of it overhead), capped by what
   * the peer accepts. Default 16 KiB (ALTS's usual 4 KiB is the least allowed); larger records
   * cost less CPU and garbage per byte.
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
