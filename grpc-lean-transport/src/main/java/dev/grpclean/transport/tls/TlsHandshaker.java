package dev.grpclean.transport.tls;

import com.google.common.base.Preconditions;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.RecordProtector;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.InternalChannelz;
import io.grpc.SecurityLevel;
import io.grpc.internal.GrpcAttributes;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import javax.annotation.Nullable;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

/**
 * Drives one {@link TlsEngine} through its handshake with the bytes the transport reads, then
 * requires ALPN "h2" (RFC 9113 §3.2) and hands over a {@link TlsRecordProtector}.
 *
 * <p>Steps follow the engine's handshake status: NEED_WRAP writes the next flight into the
 * transport's output, NEED_UNWRAP takes one whole record at a time (so bytes after the last
 * handshake record stay in the input for the protector), NEED_TASK runs inline. Failures become
 * {@link GeneralSecurityException}s (not I/O errors) so the transport reports them as security
 * failures, with the engine's reason (untrusted certificate, hostname mismatch, alert received).
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
final class TlsHandshaker implements Handshaker {
  /**
   * Output room for one flight: 64 KiB. A TLS 1.3 server flight is ServerHello,
   * EncryptedExtensions, the certificate chain, CertificateVerify and Finished: a few KiB with
   * common chains. The lease lives only for one handshake step.
   */
  static final int MAX_FLIGHT_BYTES = 64 * 1024;
  static final String ALPN_H2 = "h2";
  /**
   * Steps (wraps, task runs) between two inbound records. A flight is a handful of records; this
   * many without consuming input means the engine is stuck.
   */
  private static final int MAX_STEPS_PER_RECORD = 64;

  private static final ByteBuffer NOTHING = ByteBuffer.allocate(0).asReadOnlyBuffer();

  private final TlsEngine tls;
  /** A failure found while creating the engine, reported by {@link #start}. */
  @Nullable private final GeneralSecurityException setupFailure;
  @Nullable private RecordProtector protector;
  @Nullable private Attributes attributes;
  @Nullable private InternalChannelz.Security security;

  TlsHandshaker(TlsEngine tls) {
    this.tls = tls;
    this.setupFailure = null;
  }

  /** A handshaker that fails at {@link #start} with {@code setupFailure}. */
  TlsHandshaker(GeneralSecurityException setupFailure) {
    this.tls = null;
    this.setupFailure = setupFailure;
  }

  @Override
  public void start(ByteBuffer out) throws Exception {
    if (setupFailure != null) {
      throw setupFailure;
    }
    try {
      tls.engine.beginHandshake();
      drive(null, out);
    } catch (SSLException | CertificateException e) {
      throw failed(e, out);
    } finally {
      tls.releaseLeases();
    }
  }

  @Override
  public boolean onBytes(ByteBuffer in, ByteBuffer out) throws Exception {
    Preconditions.checkState(protector == null, "handshake already complete");
    try {
      return drive(in, out);
    } catch (SSLException | CertificateException e) {
      // Conscrypt lets a CertificateException out of unwrap as it is.
      throw failed(e, out);
    } finally {
      tls.releaseLeases();
    }
  }

  /** Steps the engine until it waits for bytes we do not have, or the handshake is complete. */
  private boolean drive(@Nullable ByteBuffer in, ByteBuffer out) throws Exception {
    for (int step = 0; step < MAX_STEPS_PER_RECORD; step++) {
      HandshakeStatus status = tls.engine.getHandshakeStatus();
      switch (status) {
        case NEED_TASK:
          tls.runDelegatedTasks();
          break;
        case NEED_WRAP:
          SSLEngineResult wrapped = tls.wrap(NOTHING, out);
          if (wrapped.getStatus() == SSLEngineResult.Status.CLOSED) {
            throw new SSLException("TLS engine closed during the handshake");
          }
          if (wrapped.getHandshakeStatus() == HandshakeStatus.FINISHED) {
            return finish(out);
          }
          break;
        case NEED_UNWRAP:
        case NEED_UNWRAP_AGAIN:
          if (in == null) {
            return false;
          }
          HandshakeStatus after = tls.unwrapRecord(in, null);
          if (after == null) {
            return false;
          }
          if (tls.inboundClosed()) {
            throw new SSLException("peer closed the connection during the TLS handshake");
          }
          if (after == HandshakeStatus.FINISHED) {
            return finish(out);
          }
          step = 0;
          break;
        default:
          // NOT_HANDSHAKING (or FINISHED) once the engine is done.
          return finish(out);
      }
    }
    throw new SSLException("TLS handshake made no progress in " + MAX_STEPS_PER_RECORD + " steps");
  }

  /** The engine is done: flush what it still has to say, check ALPN, expose the session. */
  private boolean finish(ByteBuffer out) throws Exception {
    // A TLS 1.3 server queues NewSessionTicket right after the client's Finished.
    for (int i = 0; i < 4 && tls.engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP; i++) {
      tls.wrap(NOTHING, out);
    }
    String protocol = tls.engine.getApplicationProtocol();
    if (!ALPN_H2.equals(protocol)) {
      throw new GeneralSecurityException("TLS peer did not negotiate ALPN protocol \"h2\""
          + " (negotiated: " + (protocol == null || protocol.isEmpty() ? "none" : protocol)
          + "); gRPC requires HTTP/2 over TLS with ALPN");
    }
    SSLSession session = tls.engine.getSession();
    Attributes.Builder attrs = Attributes.newBuilder()
        .set(Grpc.TRANSPORT_ATTR_SSL_SESSION, session)
        .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.PRIVACY_AND_INTEGRITY);
    if (tls.engine.getUseClientMode()) {
      attrs.set(GrpcAttributes.ATTR_AUTHORITY_VERIFIER, new TlsAuthorityVerifier(session));
    }
    attributes = attrs.build();
    security = new InternalChannelz.Security(new InternalChannelz.Tls(session));
    protector = new TlsRecordProtector(tls);
    return true;
  }

  /**
   * Turns an engine failure into the exception the transport reports. Best effort, the engine's
   * alert for the peer (certificate_required, bad_certificate, ...) is left in {@code out}.
   */
  private GeneralSecurityException failed(Exception e, ByteBuffer out) {
    try {
      tls.engine.closeOutbound();
      // Wrap even when the engine reports nothing to do: Conscrypt has freed its handshake state
      // by now but still hands out the alert it queued.
      for (int i = 0; i < 2; i++) {
        if (tls.wrap(NOTHING, out).bytesProduced() == 0) {
          break;
        }
      }
    } catch (SSLException | RuntimeException ignored) {
      // Already failing; the alert is a courtesy.
    }
    return new GeneralSecurityException(describe(e), e);
  }

  /** The engine's message, plus the root cause's when it says more (PKIX, hostname). */
  private static String describe(Exception e) {
    String message = String.valueOf(e.getMessage());
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String rootMessage = root == e ? null : root.getMessage();
    if (rootMessage != null && !message.contains(rootMessage)) {
      message = message + " (" + rootMessage + ")";
    }
    return "TLS: " + flat(message);
  }

  /** Conscrypt puts BoringSSL's reason on a second line; a status description reads better flat. */
  static String flat(String message) {
    return message.replace('\n', ' ');
  }

  /** The engine, for tests that inspect what it holds; null if setup failed. */
  @Nullable
  SSLEngine engine() {
    return tls == null ? null : tls.engine;
  }

  @Override
  public int maxOutputBytes() {
    return MAX_FLIGHT_BYTES;
  }

  @Override
  public int pendingBytes() {
    return tls == null ? 0 : tls.pendingBytes();
  }

  @Override
  public RecordProtector protector() {
    return Preconditions.checkNotNull(protector, "handshake not complete");
  }

  @Override
  public Attributes attributes() {
    return Preconditions.checkNotNull(attributes, "handshake not complete");
  }

  @Nullable
  @Override
  public InternalChannelz.Security security() {
    return security;
  }

  @Override
  public void close() {
    if (tls != null) {
      tls.close();
    }
  }
}
