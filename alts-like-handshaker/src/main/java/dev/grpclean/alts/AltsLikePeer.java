package dev.grpclean.alts;

import dev.grpclean.alts.record.RecordProtocol;
import io.grpc.Attributes;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;

/**
 * The authenticated peer of an ALTS-like connection: its Ed25519 public key or X.509 certificate
 * chain (see {@link #certificateChain()}), a printable id, and
 * what the handshake negotiated. Found in call and transport attributes under {@link
 * #PEER_IDENTITY_KEY}, so an interceptor can authorize by identity:
 *
 * <pre>{@code
 * AltsLikePeer peer = call.getAttributes().get(AltsLikePeer.PEER_IDENTITY_KEY);
 * if (peer == null || !allowed.contains(peer.id())) { call.close(Status.PERMISSION_DENIED, ...); }
 * }</pre>
 *
 * <p>Thread-safe (immutable).
 */
public final class AltsLikePeer {
  /** Transport attribute holding the authenticated peer. */
  public static final Attributes.Key<AltsLikePeer> PEER_IDENTITY_KEY =
      Attributes.Key.create("dev.grpclean.alts.peerIdentity");

  private final PublicKey publicKey;
  private final byte[] rawPublicKey;
  private final String id;
  private final RecordProtocol recordProtocol;
  private final RpcProtocolVersion rpcProtocolVersion;
  private final List<X509Certificate> chain;
  /** What equality compares: the raw key, or the leaf certificate's DER. */
  private final byte[] identityBytes;

  private AltsLikePeer(PublicKey publicKey, byte[] rawPublicKey, String id,
      List<X509Certificate> chain, byte[] identityBytes, RecordProtocol recordProtocol,
      RpcProtocolVersion rpcProtocolVersion) {
    this.publicKey = publicKey;
    this.rawPublicKey = rawPublicKey;
    this.id = id;
    this.chain = chain;
    this.identityBytes = identityBytes;
    this.recordProtocol = recordProtocol;
    this.rpcProtocolVersion = rpcProtocolVersion;
  }

  /** A peer from its raw 32-byte Ed25519 public key and the negotiated parameters. */
  public static AltsLikePeer of(byte[] rawPublicKey, RecordProtocol recordProtocol,
      RpcProtocolVersion rpcProtocolVersion) throws GeneralSecurityException {
    byte[] raw = rawPublicKey.clone();
    return new AltsLikePeer(Ed25519Keys.publicKeyFromRaw(raw), raw, Ed25519Keys.id(raw),
        List.of(), raw, recordProtocol, rpcProtocolVersion);
  }

  /**
   * A peer from its certificate chain (leaf first; the handshake has checked the signature, the
   * caller's policy decides trust) and the negotiated parameters.
   */
  public static AltsLikePeer ofCertificates(List<X509Certificate> chain,
      RecordProtocol recordProtocol, RpcProtocolVersion rpcProtocolVersion)
      throws GeneralSecurityException {
    List<X509Certificate> copy = List.copyOf(chain);
    if (copy.isEmpty()) {
      throw new GeneralSecurityException("empty certificate chain");
    }
    X509Certificate leaf = copy.get(0);
    PublicKey key = leaf.getPublicKey();
    byte[] leafDer;
    try {
      leafDer = leaf.getEncoded();
    } catch (CertificateEncodingException e) {
      throw new GeneralSecurityException(e);
    }
    return new AltsLikePeer(key, key.getEncoded(), X509Identities.id(leaf), copy, leafDer,
        recordProtocol, rpcProtocolVersion);
  }

  public PublicKey publicKey() {
    return publicKey;
  }

  /**
   * The raw 32-byte public key (a copy); for a certificate peer the leaf key's
   * SubjectPublicKeyInfo DER.
   */
  public byte[] rawPublicKey() {
    return rawPublicKey.clone();
  }

  /** The peer's certificate chain, leaf first, as validated; empty for a raw-key peer. */
  public List<X509Certificate> certificateChain() {
    return chain;
  }

  /**
   * {@code ed25519:<base64url of the public key>}, or for a certificate peer
   * {@code x509:<subject DN> sha256:<base64url SHA-256 of the leaf key's SPKI>}; equal ids mean
   * equal keys.
   */
  public String id() {
    return id;
  }

  /** The record protocol the connection uses. */
  public RecordProtocol recordProtocol() {
    return recordProtocol;
  }

  /** The RPC protocol version both sides agreed on. */
  public RpcProtocolVersion rpcProtocolVersion() {
    return rpcProtocolVersion;
  }

  /**
   * Equal if the public keys (raw-key peers) or leaf certificates (certificate peers) are equal;
   * negotiated parameters are ignored.
   */
  @Override
  public boolean equals(Object o) {
    return o instanceof AltsLikePeer
        && ((AltsLikePeer) o).chain.isEmpty() == chain.isEmpty()
        && Arrays.equals(((AltsLikePeer) o).identityBytes, identityBytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(identityBytes);
  }

  @Override
  public String toString() {
    return id;
  }
}
