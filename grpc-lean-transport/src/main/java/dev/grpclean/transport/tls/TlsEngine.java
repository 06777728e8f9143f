package dev.grpclean.transport.tls;

import dev.grpclean.transport.pool.Pools;
import dev.grpclean.transport.spi.RecordProtector.PlaintextSink;
import java.nio.ByteBuffer;
import javax.annotation.Nullable;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;

/**
 * One connection's {@link SSLEngine} with the buffer discipline the transport needs: the engine
 * gets packet- and plaintext-sized buffers leased from the I/O pool for the duration of one
 * handshake step, one read or one flush ({@link #releaseLeases} ends every such call), and is fed
 * exactly one whole record per unwrap, so the bytes after it stay with the caller and an
 * incomplete record is kept in a {@link PartialRecord}.
 *
 * <p>Delegated tasks (certificate checks, key exchange) run inline on the loop thread: they take a
 * millisecond or so once per handshake, and handing them to another thread would cost a hand-off
 * and a wake-up per handshake for no gain at this scale. grpc-netty runs them inline by default
 * too.
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
final class TlsEngine {
  final SSLEngine engine;
  /**
   * What unwrap writes to while handshaking: handshake records carry no plaintext. One for all
   * engines (not one per connection): it has no room, so no engine ever moves its position or
   * writes to it; it cannot be read-only, as the JDK engine refuses a read-only destination.
   */
  private static final ByteBuffer NO_PLAINTEXT = ByteBuffer.allocate(0);

  private final PartialRecord partial = new PartialRecord();
  /** Leased for one call only; null between calls. */
  @Nullable private ByteBuffer plaintextLease;
  /** Leased for one call only, when the caller's output cannot take a whole packet; else null. */
  @Nullable private ByteBuffer packetLease;
  private boolean inboundClosed;

  TlsEngine(SSLEngine engine) {
    this.engine = engine;
  }

  /** The engine's largest record on the wire (header, padding and tag included). */
  int packetBytes() {
    return engine.getSession().getPacketBufferSize();
  }

  /** Bytes of an incomplete inbound record held between calls. */
  int pendingBytes() {
    return partial.pendingBytes();
  }

  /** The peer sent close_notify: later bytes are ignored. */
  boolean inboundClosed() {
    return inboundClosed;
  }

  /**
   * One {@code wrap}: seals up to one record of {@code src} (or the next handshake message when
   * {@code src} is empty) and appends it to {@code out}. When {@code out} has less room than the
   * engine insists on (the JDK wants a whole packet even for a small record), the record goes
   * through a leased packet buffer and is copied.
   *
   * @throws SSLException also if {@code out} cannot take the record: the caller sized it wrong
   */
  SSLEngineResult wrap(ByteBuffer src, ByteBuffer out) throws SSLException {
    SSLEngineResult result = engine.wrap(src, out);
    if (result.getStatus() != SSLEngineResult.Status.BUFFER_OVERFLOW) {
      return result;
    }
    ByteBuffer packet = packetLease();
    result = engine.wrap(src, packet);
    if (result.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
      throw new SSLException("TLS engine wants more than its packet size " + packetBytes());
    }
    packet.flip();
    if (packet.remaining() > out.remaining()) {
      throw new SSLException("sealed TLS output of " + packet.remaining()
          + " bytes does not fit the " + out.remaining() + " bytes left");
    }
    out.put(packet);
    packet.clear();
    return result;
  }

  /**
   * Unwraps the next whole record in {@code in}, or completes the pending one with bytes from
   * {@code in}. Plaintext goes to {@code sink}; with no sink (while handshaking) plaintext is a
   * protocol error. Bytes after the record stay in {@code in}.
   *
   * @return the handshake status after the record, or null if no whole record was available
   *     (the incomplete tail of {@code in} is now pending)
   */
  @Nullable
  HandshakeStatus unwrapRecord(ByteBuffer in, @Nullable PlaintextSink sink) throws Exception {
    if (!partial.isEmpty()) {
      ByteBuffer record = partial.complete(in);
      if (record == null) {
        return null;
      }
      try {
        return unwrap(record, sink);
      } finally {
        partial.clear();
      }
    }
    if (!in.hasRemaining()) {
      return null;
    }
    int recordBytes = TlsRecords.recordBytes(in);
    if (recordBytes < 0 || recordBytes > in.remaining()) {
      partial.stash(in);
      return null;
    }
    int limit = in.limit();
    in.limit(in.position() + recordBytes);
    try {
      return unwrap(in, sink);
    } finally {
      in.limit(limit);
    }
  }

  /** Unwraps all of {@code record} (one record), delivering its plaintext. */
  private HandshakeStatus unwrap(ByteBuffer record, @Nullable PlaintextSink sink)
      throws Exception {
    while (true) {
      ByteBuffer dst = sink == null && plaintextLease == null ? NO_PLAINTEXT : plaintextLease();
      SSLEngineResult result = engine.unwrap(record, dst);
      switch (result.getStatus()) {
        case CLOSED:
          inboundClosed = true;
          record.position(record.limit());
          return result.getHandshakeStatus();
        case BUFFER_UNDERFLOW:
          throw new SSLException("TLS engine refused a whole record as incomplete");
        case BUFFER_OVERFLOW:
          if (dst == NO_PLAINTEXT) {
            plaintextLease();
            continue;
          }
          if (dst.position() == 0) {
            throw new SSLException("TLS plaintext larger than the engine's application buffer");
          }
          break;
        default:
          break;
      }
      if (dst.position() > 0) {
        if (sink == null) {
          throw new SSLException("peer sent application data before the TLS handshake completed");
        }
        dst.flip();
        sink.onPlaintext(dst);
        dst.clear();
      }
      HandshakeStatus status = result.getHandshakeStatus();
      if (status == HandshakeStatus.NEED_TASK) {
        status = runDelegatedTasks();
      }
      boolean morePlaintext = result.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW;
      if (!record.hasRemaining() && !morePlaintext) {
        return status;
      }
      if (result.bytesConsumed() == 0 && result.bytesProduced() == 0 && !morePlaintext) {
        throw new SSLException("TLS engine made no progress on a whole record (" + status + ")");
      }
    }
  }

  /** Runs the engine's delegated tasks here, on the loop thread (see the class note). */
  HandshakeStatus runDelegatedTasks() {
    Runnable task;
    while ((task = engine.getDelegatedTask()) != null) {
      task.run();
    }
    return engine.getHandshakeStatus();
  }

  /** Ends a call: returns the leases taken during it. Every entry point calls it in finally. */
  void releaseLeases() {
    if (plaintextLease != null) {
      Pools.io().release(plaintextLease);
      plaintextLease = null;
    }
    if (packetLease != null) {
      Pools.io().release(packetLease);
      packetLease = null;
    }
  }

  /** Closes the engine (freeing native state for Conscrypt) and drops pending bytes. Idempotent. */
  void close() {
    releaseLeases();
    partial.clear();
    engine.closeOutbound();
    try {
      engine.closeInbound();
    } catch (SSLException expected) {
      // The JDK complains that no close_notify arrived; the connection is closed regardless.
    }
  }

  private ByteBuffer plaintextLease() {
    if (plaintextLease == null) {
      plaintextLease = Pools.io().lease(engine.getSession().getApplicationBufferSize());
    }
    return plaintextLease;
  }

  private ByteBuffer packetLease() {
    if (packetLease == null) {
      packetLease = Pools.io().lease(packetBytes());
    }
    return packetLease;
  }
}
