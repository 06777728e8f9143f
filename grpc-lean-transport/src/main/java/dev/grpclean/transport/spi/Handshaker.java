package dev.grpclean.transport.spi;

import io.grpc.Attributes;
import io.grpc.InternalChannelz.Security;
import java.nio.ByteBuffer;
import javax.annotation.Nullable;

/**
 * One side of a connection's security handshake, driven by the transport with the bytes it reads
 * and writing the bytes the handshaker asks for. Runs before the HTTP/2 preface.
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
public interface Handshaker {
  /**
   * Called once when the connection is established. Writes the first flight (if this side
   * speaks first) into {@code out}, which has at least {@link #maxOutputBytes()} remaining.
   */
  void start(ByteBuffer out) throws Exception;

  /**
   * Consumes handshake bytes from {@code in} (borrowed). Writes any reply into {@code out} (at
   * least {@link #maxOutputBytes()} remaining). Bytes after the end of the handshake are left in
   * {@code in} (its position stops at the first byte that is not handshake): they are the first
   * protected bytes and the transport passes them to the record protector.
   *
   * @return true once the handshake is complete
   * @throws Exception with a message fit for a status description, on any failure: the
   *     connection is closed, the client sees UNAVAILABLE with that message
   */
  boolean onBytes(ByteBuffer in, ByteBuffer out) throws Exception;

  /** Largest single flight this handshaker writes. */
  int maxOutputBytes();

  /** Bytes of incomplete handshake messages held between calls. */
  int pendingBytes();

  /** After completion: the record protector for the connection's lifetime. */
  RecordProtector protector();

  /**
   * After completion: attributes to merge into the transport's (peer identity, security level
   * {@code GrpcAttributes.ATTR_SECURITY_LEVEL}, auth context).
   */
  Attributes attributes();

  /** After completion: channelz security description, or null. */
  @Nullable
  Security security();

  /** Drops handshake state; the connection is closed. Idempotent. */
  void close();
}
