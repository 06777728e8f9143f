package dev.grpclean.transport;

import io.grpc.Attributes;
import io.grpc.Status;
import io.grpc.internal.AuthorityVerifier;
import io.grpc.internal.GrpcAttributes;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;

/**
 * The per-call authority check: a call that overrides the authority ({@code
 * CallOptions.withAuthority}) must name one the connection's peer was authenticated for, as the
 * security handshake's {@code GrpcAttributes.ATTR_AUTHORITY_VERIFIER} judges (TLS: the server
 * certificate's names); otherwise the call fails UNAVAILABLE before anything is sent. A
 * connection without a verifier (plaintext) has no identity to check and is not checked.
 *
 * <p>Opt-out, in the spirit of grpc-java's {@code GRPC_ENABLE_PER_RPC_AUTHORITY_CHECK} (which
 * grpc-netty 1.79 leaves off by default, logging instead): {@code
 * -Dgrpclean.perRpcAuthorityCheck=false} lets mismatching calls through with a warning. Here the
 * check is on by default.
 *
 * <p>Thread-safe (stateless).
 */
final class CallAuthorityCheck {
  /** System property; "false" turns failing calls into a logged warning. Read once. */
  static final String PROPERTY = "grpclean.perRpcAuthorityCheck";
  private static final boolean ENFORCED =
      !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "true"));
  private static final Logger log = Logger.getLogger(CallAuthorityCheck.class.getName());

  private CallAuthorityCheck() {}

  /**
   * The status to fail a call with, or null to let it proceed.
   *
   * @param callAuthority the call's authority override; null if it has none
   */
  @Nullable
  static Status check(Attributes transportAttrs, @Nullable String callAuthority) {
    return check(transportAttrs, callAuthority, ENFORCED);
  }

  @Nullable
  static Status check(Attributes transportAttrs, @Nullable String callAuthority,
      boolean enforced) {
    if (callAuthority == null) {
      return null;
    }
    AuthorityVerifier verifier = transportAttrs.get(GrpcAttributes.ATTR_AUTHORITY_VERIFIER);
    if (verifier == null) {
      return null;
    }
    Status status = verifier.verifyAuthority(callAuthority);
    if (status.isOk()) {
      return null;
    }
    if (!enforced) {
      log.log(Level.WARNING, "{0} (allowed: -D{1}=false)",
          new Object[] {status.getDescription(), PROPERTY});
      return null;
    }
    return status;
  }
}
