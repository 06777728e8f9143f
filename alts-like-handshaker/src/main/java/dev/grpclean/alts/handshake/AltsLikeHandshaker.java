package dev.grpclean.alts.handshake;

import dev.grpclean.alts.AltsLikePeer;
import dev.grpclean.alts.X509Identities;
import dev.grpclean.alts.X509PeerChecks;
import dev.grpclean.alts.record.AltsRecordProtector;
import dev.grpclean.alts.record.RecordProtocol;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.RecordProtector;
import io.grpc.Attributes;
import io.grpc.InternalChannelz.OtherSecurity;
import io.grpc.InternalChannelz.Security;
import io.grpc.SecurityLevel;
import io.grpc.Status;
import io.grpc.internal.GrpcAttributes;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.annotation.Nullable;

/**
 * What both sides of the handshake share: message reassembly, the state machine, failure
 * handling, and turning the key schedule's output into a record protector and attributes.
 *
 * <p>Between messages it holds the ephemeral key pair, the messages so far (under 400 bytes) and
 * the PRK; all of it is dropped when the handshake ends.
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
abstract class AltsLikeHandshaker implements Handshaker {
  final HandshakeOptions options;
  private final boolean client;
  private final MessageReader reader = new MessageReader();
  HandshakeState state = HandshakeState.START;

  @Nullable KeyPair ephemeral;
  @Nullable byte[] clientInit;
  @Nullable byte[] serverInit;
  @Nullable byte[] prk;

  @Nullable private AltsRecordProtector protector;
  @Nullable private Attributes attributes;
  @Nullable private AltsLikePeer peer;
  @Nullable private Security security;

  AltsLikeHandshaker(HandshakeOptions options, boolean client) {
    this.options = options;
    this.client = client;
  }

  /** Handles one complete message for the current state; writes any reply into {@code out}. */
  abstract void handle(byte[] message, ByteBuffer out) throws GeneralSecurityException;

  @Override
  public final boolean onBytes(ByteBuffer in, ByteBuffer out) throws HandshakeException {
    if (state == HandshakeState.DONE) {
      return true;
    }
    if (!state.awaitsMessage()) {
      throw new IllegalStateException("handshake is " + state);
    }
    try {
      while (state != HandshakeState.DONE) {
        byte[] message = reader.read(in, state == HandshakeState.AWAIT_CLIENT_INIT
            ? Messages.MAX_MESSAGE_BYTES
            : options.maxPeerIdentityMessageBytes() + IdentityEnvelope.TAG_BYTES);
        if (message == null) {
          return false;
        }
        handle(message, out);
        state = HandshakeState.next(state, client);
      }
      return true;
    } catch (HandshakeException e) {
      fail();
      throw e;
    } catch (GeneralSecurityException | RuntimeException e) {
      fail();
      throw new HandshakeException("ALTS-like handshake failed: " + e, e);
    }
  }

  @Override
  public int maxOutputBytes() {
    return (options.identity.isCertificate()
        ? Messages.MAX_IDENTITY_MESSAGE_BYTES : Messages.MAX_MESSAGE_BYTES)
        + IdentityEnvelope.TAG_BYTES;
  }

  @Override
  public int pendingBytes() {
    return reader.pendingBytes();
  }

  @Override
  public RecordProtector protector() {
    checkDone();
    return protector;
  }

  @Override
  public Attributes attributes() {
    checkDone();
    return attributes;
  }

  /** After completion: the authenticated peer. */
  public AltsLikePeer peer() {
    checkDone();
    return peer;
  }

  /**
   * After completion: channelz's "other" security, named for the protocol, the negotiated record
   * protocol and RPC version, and both identities (grpc's channelz service reads {@code any} as a
   * protobuf {@code Any}, which this module does not depend on, so it is null).
   */
  @Override
  @Nullable
  public Security security() {
    return security;
  }

  @Override
  public void close() {
    if (state != HandshakeState.DONE) {
      state = HandshakeState.CLOSED;
    }
    dropSecrets();
  }

  /** Called when the handshake is over (done, failed or closed), possibly more than once. */
  void ended() {}

  /**
   * Fails closed unless the local policy accepts the peer: a certificate peer's chain must
   * validate against the trusted roots, its leaf must be no CA and carry the extended key usage
   * of its role, a server's names must match the target (unless configured otherwise), and then
   * it must pass the peer verifier, if one is set; a raw-key peer must pass the key policy.
   *
   * @param authority the client's target; null on the server
   */
  void checkPeer(AltsLikePeer candidate, @Nullable String authority) throws HandshakeException {
    String who = client ? "server" : "client";
    if (!candidate.certificateChain().isEmpty()) {
      if (options.trustAnchors == null) {
        throw new HandshakeException(who + " presented certificate " + candidate.id()
            + ", but local policy trusts no certificates (call trustCertificates)");
      }
      try {
        X509Identities.validate(candidate.certificateChain(), options.trustAnchors,
            options.validationDate);
        X509PeerChecks.checkRole(candidate.certificateChain().get(0), client);
      } catch (GeneralSecurityException e) {
        throw new HandshakeException(who + " certificate " + candidate.id()
            + " is not trusted: " + e.getMessage(), e);
      }
    } else if (options.peerVerifier == null) {
      throw new HandshakeException(who + " presented raw key " + candidate.id()
          + ", but local policy accepts only certificates chaining to the trusted roots");
    }
    checkTarget(options, client, candidate, authority);
  }

  /**
   * The target-dependent part of {@link #checkPeer}, for a peer whose chain and role already
   * passed: a server certificate's names against the target, then the verifier or key policy.
   * Also run for each call that overrides the authority.
   */
  static void checkTarget(HandshakeOptions options, boolean client, AltsLikePeer candidate,
      @Nullable String authority) throws HandshakeException {
    String who = client ? "server" : "client";
    if (!candidate.certificateChain().isEmpty()) {
      if (client && options.serverNameCheck) {
        String host = options.expectedServerName;
        if (host == null) {
          if (authority == null) {
            throw new HandshakeException("server certificate " + candidate.id()
                + " cannot be checked: the channel has no authority");
          }
          host = X509PeerChecks.hostOf(authority);
        }
        try {
          X509PeerChecks.checkHost(candidate.certificateChain().get(0), host);
        } catch (GeneralSecurityException e) {
          throw new HandshakeException("server certificate " + candidate.id()
              + " is not valid for " + host + ": " + e.getMessage(), e);
        }
      }
      if (options.peerVerifier != null && options.verifierCoversCertificates
          && !options.accepts(candidate, authority)) {
        throw new HandshakeException(who + " identity " + candidate.id()
            + " is not accepted by local policy (" + options.peerPolicy + ")");
      }
      return;
    }
    if (!options.accepts(candidate, authority)) {
      throw new HandshakeException(who + " identity " + candidate.id()
          + (authority == null ? "" : " for " + authority)
          + " is not accepted by local policy (" + options.peerPolicy + ")");
    }
  }

  /** The transcript signature algorithm for the peer's key; fails for unsupported keys. */
  static String signatureAlgorithm(AltsLikePeer peer) throws HandshakeException {
    try {
      return X509Identities.signatureAlgorithm(peer.publicKey());
    } catch (GeneralSecurityException e) {
      throw new HandshakeException("peer " + e.getMessage(), e);
    }
  }

  /** Completes the handshake: derives record keys from the whole transcript. */
  void finish(AltsLikePeer authenticated, RecordProtocol protocol, byte[] clientFinished,
      int peerMaxRecordBytes) throws GeneralSecurityException {
    byte[] transcript = HandshakeCrypto.transcriptHash(
        new byte[][] {clientInit, serverInit, clientFinished},
        new int[] {clientInit.length, serverInit.length, clientFinished.length});
    byte[] clientKey = HandshakeCrypto.recordKey(
        prk, HandshakeCrypto.CLIENT_RECORD_KEY_LABEL, transcript, protocol.keyBytes());
    byte[] serverKey = HandshakeCrypto.recordKey(
        prk, HandshakeCrypto.SERVER_RECORD_KEY_LABEL, transcript, protocol.keyBytes());
    try {
      protector = AltsRecordProtector.create(protocol, client,
          client ? clientKey : serverKey, client ? serverKey : clientKey,
          Math.min(options.recordBytes, peerMaxRecordBytes), options.maxInboundRecordBytes,
          options.provider());
    } finally {
      Arrays.fill(clientKey, (byte) 0);
      Arrays.fill(serverKey, (byte) 0);
    }
    peer = authenticated;
    security = new Security(new OtherSecurity("alts-like " + protocol + " rpc "
        + authenticated.rpcProtocolVersion() + " local " + options.identity.id() + " remote "
        + authenticated.id(), null));
    Attributes.Builder attrs = Attributes.newBuilder();
    if (client) {
      // A call overriding the authority must name a target this server would have been accepted
      // for (certificate names, target-bound keys, the verifier); the transport fails it if not.
      HandshakeOptions opts = options;
      attrs.set(GrpcAttributes.ATTR_AUTHORITY_VERIFIER, callAuthority -> {
        try {
          checkTarget(opts, true, authenticated, callAuthority);
          return Status.OK;
        } catch (HandshakeException | RuntimeException e) {
          return Status.UNAVAILABLE.withDescription("per-call authority '" + callAuthority
              + "' is not valid for the ALTS-like server: " + e.getMessage());
        }
      });
    }
    attributes = attrs
        // Encrypted either way, but with an unauthenticated server the privacy is only against
        // passive observers: NONE keeps call credentials off the connection.
        .set(GrpcAttributes.ATTR_SECURITY_LEVEL, client && options.unauthenticatedPeer
            ? SecurityLevel.NONE : SecurityLevel.PRIVACY_AND_INTEGRITY)
        .set(AltsLikePeer.PEER_IDENTITY_KEY, authenticated)
        .build();
    dropSecrets();
  }

  /** Checks a finished MAC in constant time. */
  static void checkMac(byte[] expected, byte[] message, String who) throws HandshakeException {
    byte[] actual = Arrays.copyOfRange(message, Messages.macOffset(message), message.length);
    if (!MessageDigest.isEqual(expected, actual)) {
      throw new HandshakeException(who + "'s finished MAC does not verify: the handshake was"
          + " tampered with or the key exchange failed");
    }
  }

  /**
   * Validates the largest record the peer accepts (an unsigned field) and returns it, capped at
   * {@link AltsRecordProtector#MAX_RECORD_BYTES}. Rejects a peer that cannot receive ALTS's
   * default 4 KiB records.
   */
  static int peerMaxRecordBytes(int announced, String who) throws HandshakeException {
    long bytes = announced & 0xffffffffL;
    if (bytes < AltsRecordProtector.MIN_RECORD_BYTES) {
      throw new HandshakeException(who + " accepts records of at most " + bytes
          + " bytes; at least " + AltsRecordProtector.MIN_RECORD_BYTES + " are required");
    }
    return (int) Math.min(bytes, AltsRecordProtector.MAX_RECORD_BYTES);
  }

  private void checkDone() {
    if (state != HandshakeState.DONE) {
      throw new IllegalStateException("handshake not complete: " + state);
    }
  }

  private void fail() {
    state = HandshakeState.FAILED;
    dropSecrets();
  }

  private void dropSecrets() {
    ended();
    if (prk != null) {
      Arrays.fill(prk, (byte) 0);
      prk = null;
    }
    ephemeral = null;
    clientInit = null;
    serverInit = null;
  }
}
