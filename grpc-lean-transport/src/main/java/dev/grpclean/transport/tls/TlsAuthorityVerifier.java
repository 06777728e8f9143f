package dev.grpclean.transport.tls;

import io.grpc.Status;
import io.grpc.internal.AuthorityVerifier;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Checks a per-call authority ({@code CallOptions.withAuthority}) against the certificate the TLS
 * server presented when the connection was made: its subject alternative names must match the
 * authority's host ({@link HostnameMatcher}). The chain itself was validated by the handshake;
 * only the name differs from the one checked then. Published under {@code
 * GrpcAttributes.ATTR_AUTHORITY_VERIFIER}, as grpc-netty does.
 *
 * <p>Thread-safe (immutable; the session's peer certificates do not change).
 */
final class TlsAuthorityVerifier implements AuthorityVerifier {
  private final SSLSession session;

  TlsAuthorityVerifier(SSLSession session) {
    this.session = session;
  }

  @Override
  public Status verifyAuthority(String authority) {
    Certificate[] peer;
    try {
      peer = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return Status.UNAVAILABLE.withDescription("per-call authority '" + authority
          + "' cannot be verified: the TLS peer presented no certificate").withCause(e);
    }
    if (peer.length == 0 || !(peer[0] instanceof X509Certificate)) {
      return Status.UNAVAILABLE.withDescription("per-call authority '" + authority
          + "' cannot be verified: the TLS peer presented no X.509 certificate");
    }
    try {
      HostnameMatcher.checkHost((X509Certificate) peer[0], HostnameMatcher.hostOf(authority));
      return Status.OK;
    } catch (CertificateException | IllegalArgumentException e) {
      return Status.UNAVAILABLE.withDescription("per-call authority '" + authority
          + "' is not valid for the TLS peer's certificate: " + e.getMessage()).withCause(e);
    }
  }
}
