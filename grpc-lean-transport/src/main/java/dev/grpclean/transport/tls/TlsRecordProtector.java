package dev.grpclean.transport.tls;

import dev.grpclean.transport.spi.RecordProtector;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

/**
 * TLS application records after the handshake, through the connection's {@link TlsEngine}.
 *
 * <p>Post-handshake messages are the engine's business: a TLS 1.3 NewSessionTicket is absorbed by
 * unwrap, and a KeyUpdate reply the engine wants to send goes out ahead of the next sealed bytes
 * (the engine keeps it until the next wrap). Renegotiation (TLS 1.2) is not supported: gRPC peers
 * do not renegotiate, and an engine that stalls on it fails the connection instead of hanging.
 * close_notify from the peer ends reading; the socket's end of input follows.
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
final class TlsRecordProtector implements RecordProtector {
  private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);
  private final TlsEngine tls;

  TlsRecordProtector(TlsEngine tls) {
    this.tls = tls;
  }

  @Override
  public void unprotect(ByteBuffer ciphertext, PlaintextSink sink) throws Exception {
    try {
      while (!tls.inboundClosed()) {
        if (tls.unwrapRecord(ciphertext, sink) == null) {
          return;
        }
      }
      ciphertext.position(ciphertext.limit());
    } catch (SSLException e) {
      throw new GeneralSecurityException(
          "TLS record rejected: " + TlsHandshaker.flat(String.valueOf(e.getMessage())), e);
    } finally {
      tls.releaseLeases();
    }
  }

  /**
   * Room for every record's overhead, plus one whole packet: the JDK wraps only into a buffer
   * with a packet's room left, and a post-handshake message may go out first.
   */
  @Override
  public int maxProtectedBytes(int plaintextBytes) {
    int packet = tls.packetBytes();
    int overhead = Math.max(0, packet - TlsRecords.MAX_PLAINTEXT_FRAGMENT_BYTES);
    int records = Math.max(1, (plaintextBytes + TlsRecords.MAX_PLAINTEXT_FRAGMENT_BYTES - 1)
        / TlsRecords.MAX_PLAINTEXT_FRAGMENT_BYTES);
    return plaintextBytes + records * overhead + packet;
  }

  @Override
  public void protect(ByteBuffer plaintext, ByteBuffer out) throws GeneralSecurityException {
    try {
      while (plaintext.hasRemaining()) {
        SSLEngineResult result = tls.wrap(plaintext, out);
        if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
          throw new GeneralSecurityException("TLS engine closed: cannot seal more records");
        }
        if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
          tls.runDelegatedTasks();
        } else if (result.bytesConsumed() == 0 && result.bytesProduced() == 0) {
          throw new GeneralSecurityException("TLS engine stalled while sealing ("
              + result.getHandshakeStatus() + "); renegotiation is not supported");
        }
      }
    } catch (SSLException e) {
      throw new GeneralSecurityException("TLS seal failed: " + e.getMessage(), e);
    } finally {
      tls.releaseLeases();
    }
  }

  /** A close_notify alert, sealed like any record (TLS 1.3 hides its type). */
  @Override
  public void closeOutbound(ByteBuffer out) throws GeneralSecurityException {
    tls.engine.closeOutbound();
    try {
      for (int i = 0; i < 4 && !tls.engine.isOutboundDone(); i++) {
        if (tls.wrap(NOTHING, out).bytesProduced() == 0) {
          break;
        }
      }
    } catch (SSLException e) {
      throw new GeneralSecurityException("TLS close_notify failed: " + e.getMessage(), e);
    } finally {
      tls.releaseLeases();
    }
  }

  @Override
  public int maxCloseBytes() {
    return tls.packetBytes();
  }

  /** Whether the peer's close_notify arrived. */
  boolean inboundClosed() {
    return tls.inboundClosed();
  }

  @Override
  public int pendingBytes() {
    return tls.pendingBytes();
  }

  @Override
  public void release() {
    tls.close();
  }
}
