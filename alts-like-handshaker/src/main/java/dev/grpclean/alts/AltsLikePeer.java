package dev.grpclean.alts;

import dev.grpclean.alts.record.RecordProtocol;
import io.grpc.Attributes;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.Arrays;

/**
 * The authenticated peer of an ALTS-like connection: its Ed25519 public key, a printable id, and
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

  private AltsLikePeer(PublicKey publicKey, byte[] rawPublicKey, RecordProtocol recordProtocol,
      RpcProtocolVersion rpcProtocolVersion) {
    this.publicKey = publicKey;
    this.rawPublicKey = rawPublicKey;
    this.id = Ed25519Keys.id(rawPublicKey);
    this.recordProtocol = recordProtocol;
    this.rpcProtocolVersion = rpcProtocolVersion;
  }

  /** A peer from its raw 32-byte Ed25519 public key and the negotiated parameters. */
  public static AltsLikePeer of(byte[] rawPublicKey, RecordProtocol recordProtocol,
      RpcProtocolVersion rpcProtocolVersion) throws GeneralSecurityException {
    byte[] raw = rawPublicKey.clone();
    return new AltsLikePeer(Ed25519Keys.publicKeyFromRaw(raw), raw, recordProtocol,
        rpcProtocolVersion);
  }

  public PublicKey publicKey() {
    return publicKey;
  }

  /** The raw 32-byte public key (a copy). */
  public byte[] rawPublicKey() {
    return rawPublicKey.clone();
  }

  /** {@code ed25519:<base64url of the public key>}; equal ids mean equal keys. */
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

  /** Equal if the public keys are equal; negotiated parameters are ignored. */
  @Override
  public boolean equals(Object o) {
    return o instanceof AltsLikePeer
        && Arrays.equals(((AltsLikePeer) o).rawPublicKey, rawPublicKey);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(rawPublicKey);
  }

  @Override
  public String toString() {
    return id;
  }
}
