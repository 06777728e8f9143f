package dev.grpclean.alts.handshake;

import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.AltsLikePeer;
import dev.grpclean.alts.RpcProtocolVersion;
import dev.grpclean.alts.X509Identities;
import dev.grpclean.alts.record.RecordProtocol;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The handshake's three messages and their encoding; the module README is the specification.
 * Every message is framed as a 4-byte little-endian length (of what follows), a 4-byte
 * little-endian type, and a body of fixed layout; all integers are little-endian.
 *
 * <p>Decoding is strict: wrong type, wrong magic, a body shorter or longer than its layout, or a
 * field out of range is a {@link HandshakeException}.
 *
 * <p>Thread-safe (immutable values, stateless codec).
 */
final class Messages {
  static final int LENGTH_BYTES = 4;
  static final int TYPE_BYTES = 4;
  static final int HEADER_BYTES = LENGTH_BYTES + TYPE_BYTES;
  /**
   * 1 KiB, whole message: the largest message (ServerInit) is 180 bytes; the rest is room for
   * future fields while keeping what a stranger can make us buffer before authenticating tiny.
   */
  static final int MAX_MESSAGE_BYTES = 1024;
  /**
   * Limit for ServerInit and ClientFinished, which may carry a certificate chain: 1 KiB plus
   * {@link X509Identities#MAX_CHAIN_BYTES}. ClientInit, the only message a stranger can make a
   * server buffer before any signature, keeps {@link #MAX_MESSAGE_BYTES}.
   */
  static final int MAX_IDENTITY_MESSAGE_BYTES = MAX_MESSAGE_BYTES + X509Identities.MAX_CHAIN_BYTES;

  static final int CLIENT_INIT = 1;
  static final int SERVER_INIT = 2;
  static final int CLIENT_FINISHED = 3;

  /** "GLAL": grpc-lean ALTS-like. */
  static final byte[] MAGIC = "GLAL".getBytes(StandardCharsets.US_ASCII);
  /** Handshake version 1: identities in clear. */
  static final int VERSION_1 = 1;
  /** Handshake version 2: identity, signature and MAC encrypted (see IdentityEnvelope). */
  static final int VERSION_2 = 2;

  static final int X25519_KEY_BYTES = 32;
  static final int IDENTITY_ED25519 = 1;
  static final int IDENTITY_X509 = 2;
  static final int ED25519_KEY_BYTES = 32;
  static final int SIGNATURE_BYTES = 64;
  static final int MAC_BYTES = 32;
  /** At most this many record protocols offered; there are two today. */
  static final int MAX_PROTOCOLS = 8;

  private static final int CLIENT_INIT_FIXED_BODY = 4 + 2 + 2 + X25519_KEY_BYTES + 4 + 8 + 1;
  /** ServerInit body before the identity field. */
  private static final int SERVER_INIT_PREFIX = 2 + X25519_KEY_BYTES + 1 + 4 + 4;
  /** What follows the identity field in ServerInit and ClientFinished. */
  private static final int PROOF_BYTES = SIGNATURE_BYTES + MAC_BYTES;
  private static final int ED25519_IDENTITY_BYTES = 1 + ED25519_KEY_BYTES;

  /** ServerInit bytes before the identity field: in clear in every version. */
  static final int SERVER_INIT_CLEAR_BYTES = HEADER_BYTES + SERVER_INIT_PREFIX;

  /** Whole ServerInit size with an Ed25519 identity; signature and MAC are its last 96 bytes. */
  static final int SERVER_INIT_BYTES =
      HEADER_BYTES + SERVER_INIT_PREFIX + ED25519_IDENTITY_BYTES + PROOF_BYTES;
  /** Whole ClientFinished size with an Ed25519 identity; its last 96 bytes: signature, MAC. */
  static final int CLIENT_FINISHED_BYTES = HEADER_BYTES + ED25519_IDENTITY_BYTES + PROOF_BYTES;

  /**
   * The identity field: type 1 and a raw Ed25519 key, or type 2 and a certificate chain
   * (u16 total length, then per certificate u16 length and DER), leaf first.
   */
  static final class Identity {
    final int type;
    final byte[] rawKey;
    final List<byte[]> certificates;

    private Identity(int type, byte[] rawKey, List<byte[]> certificates) {
      this.type = type;
      this.rawKey = rawKey;
      this.certificates = certificates;
    }

    static Identity ed25519(byte[] rawKey) {
      return new Identity(IDENTITY_ED25519, rawKey, List.of());
    }

    /** A certificate chain field, leaf first (for tests that forge one). */
    static Identity x509(List<byte[]> ders) {
      return new Identity(IDENTITY_X509, null, List.copyOf(ders));
    }

    static Identity of(AltsLikeIdentity identity) throws GeneralSecurityException {
      if (!identity.isCertificate()) {
        return ed25519(identity.rawPublicKey());
      }
      List<byte[]> ders = new ArrayList<>();
      for (X509Certificate cert : identity.certificateChain()) {
        try {
          ders.add(cert.getEncoded());
        } catch (CertificateEncodingException e) {
          throw new GeneralSecurityException(e);
        }
      }
      return new Identity(IDENTITY_X509, null, ders);
    }

    int encodedBytes() {
      if (type == IDENTITY_ED25519) {
        return ED25519_IDENTITY_BYTES;
      }
      return 1 + 2 + chainBytes();
    }

    private int chainBytes() {
      int n = 0;
      for (byte[] der : certificates) {
        n += 2 + der.length;
      }
      return n;
    }

    void put(ByteBuffer b) {
      b.put((byte) type);
      if (type == IDENTITY_ED25519) {
        b.put(rawKey);
        return;
      }
      b.putShort((short) chainBytes());
      for (byte[] der : certificates) {
        b.putShort((short) der.length).put(der);
      }
    }

    /**
     * Reads the field, leaving exactly {@code PROOF_BYTES} or failing. An identity type the
     * local policy cannot accept fails here, from its type byte, before any certificate is split
     * out, parsed or verified.
     *
     * @param policy which identity types the reader's peer policy can accept
     */
    static Identity get(ByteBuffer b, String name, IdentityTypes policy)
        throws HandshakeException {
      if (b.remaining() < 1) {
        throw truncated(name);
      }
      int type = b.get() & 0xff;
      String who = name.equals("ServerInit") ? "server" : "client";
      if (type == IDENTITY_X509 && !policy.certificates) {
        throw new HandshakeException(who + " presented an X.509 certificate identity, but local"
            + " policy trusts no certificates (call trustCertificates)");
      }
      if (type == IDENTITY_ED25519 && !policy.rawKeys) {
        throw new HandshakeException(who + " presented a raw Ed25519 key identity, but local"
            + " policy accepts only certificates chaining to the trusted roots");
      }
      if (type == IDENTITY_ED25519) {
        if (b.remaining() < ED25519_KEY_BYTES) {
          throw truncated(name);
        }
        Identity id = ed25519(bytes(b, ED25519_KEY_BYTES));
        checkBodySize(b, PROOF_BYTES, name);
        return id;
      }
      if (type != IDENTITY_X509) {
        throw new HandshakeException(name + " carries unknown identity type " + type
            + "; supported: Ed25519 (" + IDENTITY_ED25519 + "), X.509 (" + IDENTITY_X509 + ")");
      }
      if (b.remaining() < 2) {
        throw truncated(name);
      }
      int total = b.getShort() & 0xffff;
      if (total == 0 || total > X509Identities.MAX_CHAIN_BYTES) {
        throw new HandshakeException(name + " carries a certificate chain of " + total
            + " bytes; must be 1 to " + X509Identities.MAX_CHAIN_BYTES);
      }
      if (b.remaining() < total) {
        throw truncated(name);
      }
      ByteBuffer chain = b.slice().limit(total).order(ByteOrder.LITTLE_ENDIAN);
      b.position(b.position() + total);
      List<byte[]> ders = new ArrayList<>();
      while (chain.hasRemaining()) {
        if (ders.size() == X509Identities.MAX_CHAIN_CERTIFICATES) {
          throw new HandshakeException(name + " carries more than "
              + X509Identities.MAX_CHAIN_CERTIFICATES + " certificates");
        }
        if (chain.remaining() < 2) {
          throw new HandshakeException(name + " has a malformed certificate chain: truncated"
              + " certificate length");
        }
        int len = chain.getShort() & 0xffff;
        if (len == 0 || len > chain.remaining()) {
          throw new HandshakeException(name + " has a malformed certificate chain: certificate "
              + ders.size() + " claims " + len + " bytes, " + chain.remaining() + " remain");
        }
        ders.add(bytes(chain, len));
      }
      checkBodySize(b, PROOF_BYTES, name);
      return new Identity(IDENTITY_X509, null, List.copyOf(ders));
    }

    /** The (not yet trusted) peer this field names; a malformed certificate fails. */
    AltsLikePeer toPeer(RecordProtocol protocol, RpcProtocolVersion rpcVersion, String who)
        throws GeneralSecurityException {
      if (type == IDENTITY_ED25519) {
        return AltsLikePeer.of(rawKey, protocol, rpcVersion);
      }
      List<X509Certificate> chain = new ArrayList<>();
      for (byte[] der : certificates) {
        try {
          chain.add(X509Identities.parseDer(der));
        } catch (CertificateException e) {
          throw new HandshakeException(who + " sent a malformed certificate (number "
              + chain.size() + " in its chain): " + e.getMessage(), e);
        }
      }
      try {
        X509Identities.signatureAlgorithm(chain.get(0).getPublicKey());
      } catch (GeneralSecurityException e) {
        throw new HandshakeException(who + "'s " + e.getMessage(), e);
      }
      return AltsLikePeer.ofCertificates(chain, protocol, rpcVersion);
    }
  }

  private Messages() {}

  /** Which identity types a peer policy can accept; others fail at decode time. */
  static final class IdentityTypes {
    static final IdentityTypes ALL = new IdentityTypes(true, true);

    final boolean rawKeys;
    final boolean certificates;

    IdentityTypes(boolean rawKeys, boolean certificates) {
      this.rawKeys = rawKeys;
      this.certificates = certificates;
    }
  }

  /** The client's offer. */
  static final class ClientInit {
    final int minVersion;
    final int maxVersion;
    final byte[] ephemeral;
    final int maxRecordBytes;
    final RpcProtocolVersion rpcMin;
    final RpcProtocolVersion rpcMax;
    /** Record protocol wire ids, most preferred first. */
    final List<Integer> protocols;

    ClientInit(int minVersion, int maxVersion, byte[] ephemeral, int maxRecordBytes,
        RpcProtocolVersion rpcMin, RpcProtocolVersion rpcMax, List<Integer> protocols) {
      this.minVersion = minVersion;
      this.maxVersion = maxVersion;
      this.ephemeral = ephemeral;
      this.maxRecordBytes = maxRecordBytes;
      this.rpcMin = rpcMin;
      this.rpcMax = rpcMax;
      this.protocols = Collections.unmodifiableList(new ArrayList<>(protocols));
    }

    byte[] encode() {
      ByteBuffer b = frame(CLIENT_INIT, CLIENT_INIT_FIXED_BODY + protocols.size());
      b.put(MAGIC).putShort((short) minVersion).putShort((short) maxVersion).put(ephemeral)
          .putInt(maxRecordBytes);
      putVersion(b, rpcMin);
      putVersion(b, rpcMax);
      b.put((byte) protocols.size());
      for (int id : protocols) {
        b.put((byte) id);
      }
      return b.array();
    }

    static ClientInit decode(byte[] message) throws HandshakeException {
      ByteBuffer b = body(message, CLIENT_INIT, "ClientInit");
      if (b.remaining() < MAGIC.length) {
        throw truncated("ClientInit");
      }
      byte[] magic = new byte[MAGIC.length];
      b.get(magic);
      if (!java.util.Arrays.equals(magic, MAGIC)) {
        throw new HandshakeException("not an ALTS-like handshake: bad magic in ClientInit");
      }
      if (b.remaining() < CLIENT_INIT_FIXED_BODY - MAGIC.length) {
        throw truncated("ClientInit");
      }
      int minVersion = b.getShort() & 0xffff;
      int maxVersion = b.getShort() & 0xffff;
      byte[] ephemeral = bytes(b, X25519_KEY_BYTES);
      int maxRecordBytes = b.getInt();
      RpcProtocolVersion rpcMin = getVersion(b);
      RpcProtocolVersion rpcMax = getVersion(b);
      int count = b.get() & 0xff;
      if (count == 0 || count > MAX_PROTOCOLS) {
        throw new HandshakeException("ClientInit offers " + count
            + " record protocols; must be 1 to " + MAX_PROTOCOLS);
      }
      if (b.remaining() != count) {
        throw b.remaining() < count ? truncated("ClientInit") : trailing("ClientInit");
      }
      List<Integer> protocols = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        protocols.add(b.get() & 0xff);
      }
      if (minVersion > maxVersion || rpcMin.compareTo(rpcMax) > 0) {
        throw new HandshakeException("ClientInit has an empty version range");
      }
      return new ClientInit(minVersion, maxVersion, ephemeral, maxRecordBytes, rpcMin, rpcMax,
          protocols);
    }
  }

  /** The server's choices and proof of identity. */
  static final class ServerInit {
    final int version;
    final byte[] ephemeral;
    final int protocol;
    final int maxRecordBytes;
    final RpcProtocolVersion rpcVersion;
    final Identity identity;

    ServerInit(int version, byte[] ephemeral, int protocol, int maxRecordBytes,
        RpcProtocolVersion rpcVersion, Identity identity) {
      this.version = version;
      this.ephemeral = ephemeral;
      this.protocol = protocol;
      this.maxRecordBytes = maxRecordBytes;
      this.rpcVersion = rpcVersion;
      this.identity = identity;
    }

    /** The message with a zero signature and MAC, to be filled by {@link #fillSignature}. */
    byte[] encodeUnsigned() {
      ByteBuffer b =
          frame(SERVER_INIT, SERVER_INIT_PREFIX + identity.encodedBytes() + PROOF_BYTES);
      b.putShort((short) version).put(ephemeral).put((byte) protocol).putInt(maxRecordBytes);
      putVersion(b, rpcVersion);
      identity.put(b);
      return b.array();
    }

    static ServerInit decode(byte[] message) throws HandshakeException {
      return decode(message, IdentityTypes.ALL);
    }

    /** Decodes, failing on an identity type {@code policy} cannot accept. */
    static ServerInit decode(byte[] message, IdentityTypes policy) throws HandshakeException {
      ByteBuffer b = body(message, SERVER_INIT, "ServerInit");
      if (b.remaining() < SERVER_INIT_PREFIX) {
        throw truncated("ServerInit");
      }
      int version = b.getShort() & 0xffff;
      byte[] ephemeral = bytes(b, X25519_KEY_BYTES);
      int protocol = b.get() & 0xff;
      int maxRecordBytes = b.getInt();
      RpcProtocolVersion rpcVersion = getVersion(b);
      Identity identity = Identity.get(b, "ServerInit", policy);
      return new ServerInit(version, ephemeral, protocol, maxRecordBytes, rpcVersion, identity);
    }
  }

  /** The client's proof of identity. */
  static final class ClientFinished {
    final Identity identity;

    ClientFinished(Identity identity) {
      this.identity = identity;
    }

    byte[] encodeUnsigned() {
      ByteBuffer b = frame(CLIENT_FINISHED, identity.encodedBytes() + PROOF_BYTES);
      identity.put(b);
      return b.array();
    }

    static ClientFinished decode(byte[] message) throws HandshakeException {
      return decode(message, IdentityTypes.ALL);
    }

    /** Decodes, failing on an identity type {@code policy} cannot accept. */
    static ClientFinished decode(byte[] message, IdentityTypes policy)
        throws HandshakeException {
      ByteBuffer b = body(message, CLIENT_FINISHED, "ClientFinished");
      return new ClientFinished(Identity.get(b, "ClientFinished", policy));
    }
  }

  /** Offset of the signature in a ServerInit or ClientFinished: the MAC follows it. */
  static int signatureOffset(byte[] message) {
    return message.length - SIGNATURE_BYTES - MAC_BYTES;
  }

  static int macOffset(byte[] message) {
    return message.length - MAC_BYTES;
  }

  static int getShortLe(byte[] b, int offset) {
    return (b[offset] & 0xff) | (b[offset + 1] & 0xff) << 8;
  }

  static int getIntLe(byte[] b, int offset) {
    return (b[offset] & 0xff) | (b[offset + 1] & 0xff) << 8 | (b[offset + 2] & 0xff) << 16
        | (b[offset + 3] & 0xff) << 24;
  }

  private static ByteBuffer frame(int type, int bodyBytes) {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + bodyBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(TYPE_BYTES + bodyBytes).putInt(type);
    return b;
  }

  /** Checks the frame (the reader has checked the length field) and returns the body. */
  private static ByteBuffer body(byte[] message, int expectedType, String name)
      throws HandshakeException {
    int type = getIntLe(message, LENGTH_BYTES);
    if (type != expectedType) {
      throw new HandshakeException("unexpected handshake message type " + Integer.toUnsignedString(
          type) + " while waiting for " + name);
    }
    return ByteBuffer.wrap(message, HEADER_BYTES, message.length - HEADER_BYTES)
        .slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  private static void checkBodySize(ByteBuffer b, int expected, String name)
      throws HandshakeException {
    if (b.remaining() < expected) {
      throw truncated(name);
    }
    if (b.remaining() > expected) {
      throw trailing(name);
    }
  }

  private static byte[] bytes(ByteBuffer b, int n) {
    byte[] out = new byte[n];
    b.get(out);
    return out;
  }

  private static void putVersion(ByteBuffer b, RpcProtocolVersion v) {
    b.putShort((short) v.major()).putShort((short) v.minor());
  }

  private static RpcProtocolVersion getVersion(ByteBuffer b) {
    int major = b.getShort() & 0xffff;
    int minor = b.getShort() & 0xffff;
    return RpcProtocolVersion.of(major, minor);
  }

  private static HandshakeException truncated(String name) {
    return new HandshakeException(name + " is truncated");
  }

  private static HandshakeException trailing(String name) {
    return new HandshakeException(name + " has unexpected trailing bytes");
  }
}
