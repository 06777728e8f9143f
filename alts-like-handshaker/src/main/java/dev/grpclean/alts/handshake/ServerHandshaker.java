package dev.grpclean.alts.handshake;

import dev.grpclean.alts.AltsLikePeer;
import dev.grpclean.alts.RpcProtocolVersion;
import dev.grpclean.alts.record.RecordProtocol;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;

/**
 * The server side: answers ClientInit with its choices, its identity, a transcript signature and
 * a finished MAC; then checks ClientFinished (signature, MAC, the client's identity against local
 * policy). Bytes after ClientFinished stay in the caller's buffer.
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
final class ServerHandshaker extends AltsLikeHandshaker {
  private RecordProtocol protocol;
  /** The negotiated handshake version. */
  private int version;
  private RpcProtocolVersion rpcVersion;
  private int clientMaxRecordBytes;
  private final HandshakeLimiter limiter;
  /** Holds one of the limiter's slots; released once, when the handshake ends. */
  private boolean holdsSlot;

  ServerHandshaker(HandshakeOptions options, HandshakeLimiter limiter) {
    super(options, false);
    this.limiter = limiter;
  }

  @Override
  public void start(ByteBuffer out) throws HandshakeException {
    if (state != HandshakeState.START) {
      throw new IllegalStateException("start() called twice");
    }
    if (!limiter.tryAcquire()) {
      state = HandshakeState.FAILED;
      throw new HandshakeException("server already has " + limiter.max()
          + " ALTS-like handshakes in progress (maxConcurrentHandshakes); refusing this one");
    }
    holdsSlot = true;
    state = HandshakeState.next(state, false);
  }

  @Override
  void ended() {
    if (holdsSlot) {
      holdsSlot = false;
      limiter.release();
    }
  }

  @Override
  void handle(byte[] message, ByteBuffer out) throws GeneralSecurityException {
    if (state == HandshakeState.AWAIT_CLIENT_INIT) {
      onClientInit(message, out);
    } else {
      onClientFinished(message);
    }
  }

  private void onClientInit(byte[] message, ByteBuffer out) throws GeneralSecurityException {
    Messages.ClientInit offer = Messages.ClientInit.decode(message);
    // The highest version both speak; the server's signature covers the ClientInit, so a
    // lowered offer is caught by the client.
    version = Math.min(offer.maxVersion, options.maxVersion);
    if (version < Math.max(offer.minVersion, options.minVersion)) {
      throw new HandshakeException("no common handshake version: the client offers ["
          + offer.minVersion + ", " + offer.maxVersion + "], the server speaks ["
          + options.minVersion + ", " + options.maxVersion + "]");
    }
    protocol = chooseProtocol(offer.protocols);
    RpcProtocolVersion low =
        offer.rpcMin.compareTo(options.rpcMin) > 0 ? offer.rpcMin : options.rpcMin;
    RpcProtocolVersion high =
        offer.rpcMax.compareTo(options.rpcMax) < 0 ? offer.rpcMax : options.rpcMax;
    if (low.compareTo(high) > 0) {
      throw new HandshakeException("no common RPC protocol version: the client offers ["
          + offer.rpcMin + ", " + offer.rpcMax + "], the server [" + options.rpcMin + ", "
          + options.rpcMax + "]");
    }
    rpcVersion = high;
    clientMaxRecordBytes = peerMaxRecordBytes(offer.maxRecordBytes, "client");

    ephemeral = HandshakeCrypto.newEphemeral();
    prk = HandshakeCrypto.extract(
        HandshakeCrypto.sharedSecret(ephemeral.getPrivate(), offer.ephemeral));
    byte[] reply = new Messages.ServerInit(version,
        HandshakeCrypto.rawX25519(ephemeral.getPublic()), protocol.wireId(),
        options.maxInboundRecordBytes, rpcVersion,
        Messages.Identity.of(options.identity)).encodeUnsigned();
    int signatureOffset = Messages.signatureOffset(reply);
    byte[] toSign = HandshakeCrypto.transcriptHash(
        new byte[][] {message, reply}, new int[] {message.length, signatureOffset});
    byte[] signature = HandshakeCrypto.sign(options.identity.privateKey(),
        options.identity.signatureAlgorithm(), HandshakeCrypto.SERVER_SIGNATURE_CONTEXT, toSign);
    System.arraycopy(signature, 0, reply, signatureOffset, signature.length);
    byte[] toMac = HandshakeCrypto.transcriptHash(
        new byte[][] {message, reply}, new int[] {message.length, Messages.macOffset(reply)});
    byte[] mac = HandshakeCrypto.finishedMac(prk, HandshakeCrypto.SERVER_FINISHED_LABEL, toMac);
    System.arraycopy(mac, 0, reply, Messages.macOffset(reply), mac.length);
    ephemeral = null; // The shared secret is in the PRK; the private key is no longer needed.
    clientInit = message;
    serverInit = reply;
    out.put(version == Messages.VERSION_2
        ? IdentityEnvelope.seal(reply, Messages.SERVER_INIT_CLEAR_BYTES, prk,
            HandshakeCrypto.SERVER_IDENTITY_KEY_LABEL, HandshakeCrypto.transcriptHash(
                new byte[][] {message}, new int[] {message.length}))
        : reply);
  }

  private void onClientFinished(byte[] sealed) throws GeneralSecurityException {
    byte[] message = version != Messages.VERSION_2 ? sealed
        : IdentityEnvelope.open(sealed, Messages.HEADER_BYTES, prk,
            HandshakeCrypto.CLIENT_IDENTITY_KEY_LABEL, HandshakeCrypto.transcriptHash(
                new byte[][] {clientInit, serverInit},
                new int[] {clientInit.length, serverInit.length}),
            "ClientFinished");
    Messages.ClientFinished finished =
        Messages.ClientFinished.decode(message, options.acceptedIdentityTypes());
    AltsLikePeer client = finished.identity.toPeer(protocol, rpcVersion, "client");
    int signatureOffset = Messages.signatureOffset(message);
    byte[] signed = HandshakeCrypto.transcriptHash(
        new byte[][] {clientInit, serverInit, message},
        new int[] {clientInit.length, serverInit.length, signatureOffset});
    if (!HandshakeCrypto.verify(client.publicKey(), signatureAlgorithm(client),
        HandshakeCrypto.CLIENT_SIGNATURE_CONTEXT, signed, message, signatureOffset)) {
      throw new HandshakeException("client's handshake signature does not verify for "
          + client.id());
    }
    byte[] macked = HandshakeCrypto.transcriptHash(
        new byte[][] {clientInit, serverInit, message},
        new int[] {clientInit.length, serverInit.length, Messages.macOffset(message)});
    checkMac(HandshakeCrypto.finishedMac(prk, HandshakeCrypto.CLIENT_FINISHED_LABEL, macked),
        message, "client");
    checkPeer(client, null);
    finish(client, protocol, message, clientMaxRecordBytes);
  }

  /** The client's most preferred protocol that this server also allows. */
  private RecordProtocol chooseProtocol(List<Integer> offered) throws HandshakeException {
    for (int id : offered) {
      RecordProtocol candidate = RecordProtocol.fromWireId(id);
      if (candidate != null && options.recordProtocols.contains(candidate)) {
        return candidate;
      }
    }
    List<String> allowed = new ArrayList<>();
    for (RecordProtocol p : options.recordProtocols) {
      allowed.add(p + "(" + p.wireId() + ")");
    }
    throw new HandshakeException("no common record protocol: the client offers " + offered
        + ", the server allows " + allowed);
  }
}
