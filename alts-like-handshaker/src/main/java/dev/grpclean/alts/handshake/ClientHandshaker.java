package dev.grpclean.alts.handshake;

import dev.grpclean.alts.AltsLikePeer;
import dev.grpclean.alts.record.RecordProtocol;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.annotation.Nullable;

/**
 * The client side: sends ClientInit, checks ServerInit (signature, finished MAC, negotiated
 * values, the server's identity against local policy), then sends ClientFinished and is done;
 * protected bytes may follow ClientFinished in the same flight.
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
final class ClientHandshaker extends AltsLikeHandshaker {
  /** The target the channel connects to; server certificates are checked against it. */
  @Nullable private final String authority;
  private Messages.ClientInit offer;

  ClientHandshaker(HandshakeOptions options, @Nullable String authority) {
    super(options, true);
    this.authority = authority;
  }

  @Override
  public void start(ByteBuffer out) throws GeneralSecurityException {
    if (state != HandshakeState.START) {
      throw new IllegalStateException("start() called twice");
    }
    ephemeral = HandshakeCrypto.newEphemeral();
    List<Integer> protocols = new ArrayList<>();
    for (RecordProtocol protocol : options.recordProtocols) {
      protocols.add(protocol.wireId());
    }
    offer = new Messages.ClientInit(options.minVersion, options.maxVersion,
        HandshakeCrypto.rawX25519(ephemeral.getPublic()), options.maxInboundRecordBytes,
        options.rpcMin, options.rpcMax, protocols);
    clientInit = offer.encode();
    out.put(clientInit);
    state = HandshakeState.next(state, true);
  }

  @Override
  void handle(byte[] sealed, ByteBuffer out) throws GeneralSecurityException {
    byte[] message = sealed;
    if (sealed.length >= Messages.SERVER_INIT_CLEAR_BYTES
        && Messages.getIntLe(sealed, Messages.LENGTH_BYTES) == Messages.SERVER_INIT
        && Messages.getShortLe(sealed, Messages.HEADER_BYTES) == Messages.VERSION_2
        && offer.maxVersion >= Messages.VERSION_2) {
      // Version 2: the key exchange first, then the identity part can be opened.
      byte[] serverEphemeral = Arrays.copyOfRange(sealed, Messages.HEADER_BYTES + 2,
          Messages.HEADER_BYTES + 2 + Messages.X25519_KEY_BYTES);
      prk = HandshakeCrypto.extract(
          HandshakeCrypto.sharedSecret(ephemeral.getPrivate(), serverEphemeral));
      message = IdentityEnvelope.open(sealed, Messages.SERVER_INIT_CLEAR_BYTES, prk,
          HandshakeCrypto.SERVER_IDENTITY_KEY_LABEL, HandshakeCrypto.transcriptHash(
              new byte[][] {clientInit}, new int[] {clientInit.length}), "ServerInit");
    }
    Messages.ServerInit reply =
        Messages.ServerInit.decode(message, options.acceptedIdentityTypes());
    serverInit = message;
    if (reply.version < offer.minVersion || reply.version > offer.maxVersion) {
      throw new HandshakeException("server chose handshake version " + reply.version
          + "; the client offered [" + offer.minVersion + ", " + offer.maxVersion + "]");
    }
    RecordProtocol protocol = RecordProtocol.fromWireId(reply.protocol);
    if (protocol == null || !options.recordProtocols.contains(protocol)) {
      throw new HandshakeException("server chose record protocol " + reply.protocol
          + ", which the client did not offer");
    }
    if (reply.rpcVersion.compareTo(options.rpcMin) < 0
        || reply.rpcVersion.compareTo(options.rpcMax) > 0) {
      throw new HandshakeException("server chose RPC protocol version " + reply.rpcVersion
          + " outside the client's range [" + options.rpcMin + ", " + options.rpcMax + "]");
    }
    int serverMaxRecordBytes = peerMaxRecordBytes(reply.maxRecordBytes, "server");

    if (prk == null) {
      prk = HandshakeCrypto.extract(
          HandshakeCrypto.sharedSecret(ephemeral.getPrivate(), reply.ephemeral));
    }
    AltsLikePeer server = reply.identity.toPeer(protocol, reply.rpcVersion, "server");
    int signatureOffset = Messages.signatureOffset(message);
    byte[] signed = HandshakeCrypto.transcriptHash(
        new byte[][] {clientInit, message}, new int[] {clientInit.length, signatureOffset});
    if (!HandshakeCrypto.verify(server.publicKey(), signatureAlgorithm(server),
        HandshakeCrypto.SERVER_SIGNATURE_CONTEXT, signed, message, signatureOffset)) {
      throw new HandshakeException("server's handshake signature does not verify for "
          + server.id());
    }
    byte[] macked = HandshakeCrypto.transcriptHash(new byte[][] {clientInit, message},
        new int[] {clientInit.length, Messages.macOffset(message)});
    checkMac(HandshakeCrypto.finishedMac(prk, HandshakeCrypto.SERVER_FINISHED_LABEL, macked),
        message, "server");
    checkPeer(server, authority);

    byte[] finished = new Messages.ClientFinished(
        Messages.Identity.of(options.identity)).encodeUnsigned();
    int ownSignatureOffset = Messages.signatureOffset(finished);
    byte[] toSign = HandshakeCrypto.transcriptHash(new byte[][] {clientInit, message, finished},
        new int[] {clientInit.length, message.length, ownSignatureOffset});
    byte[] signature = HandshakeCrypto.sign(options.identity.privateKey(),
        options.identity.signatureAlgorithm(), HandshakeCrypto.CLIENT_SIGNATURE_CONTEXT, toSign);
    System.arraycopy(signature, 0, finished, ownSignatureOffset, signature.length);
    byte[] toMac = HandshakeCrypto.transcriptHash(new byte[][] {clientInit, message, finished},
        new int[] {clientInit.length, message.length, Messages.macOffset(finished)});
    byte[] mac = HandshakeCrypto.finishedMac(prk, HandshakeCrypto.CLIENT_FINISHED_LABEL, toMac);
    System.arraycopy(mac, 0, finished, Messages.macOffset(finished), mac.length);
    if (reply.version == Messages.VERSION_2) {
      out.put(IdentityEnvelope.seal(finished, Messages.HEADER_BYTES, prk,
          HandshakeCrypto.CLIENT_IDENTITY_KEY_LABEL, HandshakeCrypto.transcriptHash(
              new byte[][] {clientInit, message}, new int[] {clientInit.length, message.length})));
    } else {
      out.put(finished);
    }
    finish(server, protocol, finished, serverMaxRecordBytes);
  }
}
