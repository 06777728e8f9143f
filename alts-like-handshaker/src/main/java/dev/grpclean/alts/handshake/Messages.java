package dev.grpclean.alts.handshake;

import dev.grpclean.alts.RpcProtocolVersion;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
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

  static final int CLIENT_INIT = 1;
  static final int SERVER_INIT = 2;
  static final int CLIENT_FINISHED = 3;

  /** "GLAL": grpc-lean ALTS-like. */
  static final byte[] MAGIC = "GLAL".getBytes(StandardCharsets.US_ASCII);
  /** The handshake protocol version this code speaks. */
  static final int VERSION = 1;

  static final int X25519_KEY_BYTES = 32;
  static final int IDENTITY_ED25519 = 1;
  static final int ED25519_KEY_BYTES = 32;
  static final int SIGNATURE_BYTES = 64;
  static final int MAC_BYTES = 32;
  /** At most this many record protocols offered; there are two today. */
  static final int MAX_PROTOCOLS = 8;

  private static final int CLIENT_INIT_FIXED_BODY = 4 + 2 + 2 + X25519_KEY_BYTES + 4 + 8 + 1;
  private static final int SERVER_INIT_BODY =
      2 + X25519_KEY_BYTES + 1 + 4 + 4 + 1 + ED25519_KEY_BYTES + SIGNATURE_BYTES + MAC_BYTES;
  private static final int CLIENT_FINISHED_BODY =
      1 + ED25519_KEY_BYTES + SIGNATURE_BYTES + MAC_BYTES;

  /** Whole ServerInit size; its signature and MAC are its last 96 bytes. */
  static final int SERVER_INIT_BYTES = HEADER_BYTES + SERVER_INIT_BODY;
  /** Whole ClientFinished size; its signature and MAC are its last 96 bytes. */
  static final int CLIENT_FINISHED_BYTES = HEADER_BYTES + CLIENT_FINISHED_BODY;

  private Messages() {}

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
    final byte[] identity;

    ServerInit(int version, byte[] ephemeral, int protocol, int maxRecordBytes,
        RpcProtocolVersion rpcVersion, byte[] identity) {
      this.version = version;
      this.ephemeral = ephemeral;
      this.protocol = protocol;
      this.maxRecordBytes = maxRecordBytes;
      this.rpcVersion = rpcVersion;
      this.identity = identity;
    }

    /** The message with a zero signature and MAC, to be filled by {@link #fillSignature}. */
    byte[] encodeUnsigned() {
      ByteBuffer b = frame(SERVER_INIT, SERVER_INIT_BODY);
      b.putShort((short) version).put(ephemeral).put((byte) protocol).putInt(maxRecordBytes);
      putVersion(b, rpcVersion);
      b.put((byte) IDENTITY_ED25519).put(identity);
      return b.array();
    }

    static ServerInit decode(byte[] message) throws HandshakeException {
      ByteBuffer b = body(message, SERVER_INIT, "ServerInit");
      checkBodySize(b, SERVER_INIT_BODY, "ServerInit");
      int version = b.getShort() & 0xffff;
      byte[] ephemeral = bytes(b, X25519_KEY_BYTES);
      int protocol = b.get() & 0xff;
      int maxRecordBytes = b.getInt();
      RpcProtocolVersion rpcVersion = getVersion(b);
      byte[] identity = identity(b, "ServerInit");
      return new ServerInit(version, ephemeral, protocol, maxRecordBytes, rpcVersion, identity);
    }
  }

  /** The client's proof of identity. */
  static final class ClientFinished {
    final byte[] identity;

    ClientFinished(byte[] identity) {
      this.identity = identity;
    }

    byte[] encodeUnsigned() {
      ByteBuffer b = frame(CLIENT_FINISHED, CLIENT_FINISHED_BODY);
      b.put((byte) IDENTITY_ED25519).put(identity);
      return b.array();
    }

    static ClientFinished decode(byte[] message) throws HandshakeException {
      ByteBuffer b = body(message, CLIENT_FINISHED, "ClientFinished");
      checkBodySize(b, CLIENT_FINISHED_BODY, "ClientFinished");
      return new ClientFinished(identity(b, "ClientFinished"));
    }
  }

  /** Offset of the signature in a ServerInit or ClientFinished: the MAC follows it. */
  static int signatureOffset(byte[] message) {
    return message.length - SIGNATURE_BYTES - MAC_BYTES;
  }

  static int macOffset(byte[] message) {
    return message.length - MAC_BYTES;
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

  private static byte[] identity(ByteBuffer b, String name) throws HandshakeException {
    int type = b.get() & 0xff;
    if (type != IDENTITY_ED25519) {
      throw new HandshakeException(name + " carries identity type " + type
          + "; only Ed25519 (" + IDENTITY_ED25519 + ") is supported");
    }
    return bytes(b, ED25519_KEY_BYTES);
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
