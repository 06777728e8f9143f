package dev.grpclean.transport;

import io.grpc.CallCredentials;
import io.grpc.InternalMayRequireSpecificExecutor;
import io.grpc.SecurityLevel;
import io.grpc.Status;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Channel call credentials (from {@code CompositeChannelCredentials} over a security handshake)
 * that are applied only over a connection of security level
 * {@link SecurityLevel#PRIVACY_AND_INTEGRITY}: over a connection whose server was not
 * authenticated (an ALTS-like channel that accepts any server reports {@link SecurityLevel#NONE})
 * the call fails UNAUTHENTICATED and no token is asked for, so bearer tokens never reach a peer
 * that may be an attacker. grpc-core leaves this check to each call credentials implementation;
 * doing it here covers the ones that skip it. Composites over {@code InsecureChannelCredentials}
 * are not wrapped: the application asked for plaintext, and grpc-netty applies them there too.
 *
 * <p>Thread-safe (immutable; the delegate must be thread-safe, as all call credentials are).
 */
final class PrivacyRequiredCallCredentials extends CallCredentials
    implements InternalMayRequireSpecificExecutor {
  private final CallCredentials delegate;

  PrivacyRequiredCallCredentials(CallCredentials delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public void applyRequestMetadata(RequestInfo requestInfo, Executor appExecutor,
      MetadataApplier applier) {
    SecurityLevel level = requestInfo.getSecurityLevel();
    if (level != SecurityLevel.PRIVACY_AND_INTEGRITY) {
      applier.fail(Status.UNAUTHENTICATED.withDescription("channel call credentials are sent"
          + " only over connections of security level PRIVACY_AND_INTEGRITY; this one is "
          + level + " (plaintext, or a server that was not authenticated)"));
      return;
    }
    delegate.applyRequestMetadata(requestInfo, appExecutor, applier);
  }

  @Override
  public boolean isSpecificExecutorRequired() {
    return delegate instanceof InternalMayRequireSpecificExecutor
        && ((InternalMayRequireSpecificExecutor) delegate).isSpecificExecutorRequired();
  }

  @Override
  public String toString() {
    return "PrivacyRequired(" + delegate + ")";
  }
}
