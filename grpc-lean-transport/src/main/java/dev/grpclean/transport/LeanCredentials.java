package dev.grpclean.transport;

import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.ChoiceChannelCredentials;
import io.grpc.ChoiceServerCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import dev.grpclean.transport.spi.HandshakerCredentials;
import dev.grpclean.transport.spi.HandshakerFactory;
import dev.grpclean.transport.tls.TlsHandshakers;
import javax.annotation.Nullable;

/**
 * Reduces grpc credentials to what the transport supports: plaintext, TLS ({@link
 * TlsHandshakers}), or credentials that implement {@link HandshakerCredentials}. Anything else is
 * refused at build time with a message that says what is supported.
 *
 * <p>Stateless; thread-safe.
 */
final class LeanCredentials {
  private LeanCredentials() {}

  /** The outcome for channel credentials: call credentials to attach, if any. */
  static final class ChannelResult {
    @Nullable final CallCredentials callCredentials;
    /** Null for plaintext. */
    @Nullable final HandshakerFactory handshakerFactory;

    ChannelResult(@Nullable CallCredentials callCredentials,
        @Nullable HandshakerFactory handshakerFactory) {
      this.callCredentials = callCredentials;
      this.handshakerFactory = handshakerFactory;
    }
  }

  static ChannelResult fromChannel(ChannelCredentials creds) {
    Resolution r = resolve(creds);
    if (r.error != null) {
      throw new IllegalArgumentException(r.error);
    }
    return new ChannelResult(r.callCredentials, r.handshakerFactory);
  }

  /** One walk over (possibly nested) channel credentials: an error, or what they reduce to. */
  private static final class Resolution {
    @Nullable final String error;
    @Nullable final CallCredentials callCredentials;
    @Nullable final HandshakerFactory handshakerFactory;

    private Resolution(String error, CallCredentials callCredentials,
        HandshakerFactory handshakerFactory) {
      this.error = error;
      this.callCredentials = callCredentials;
      this.handshakerFactory = handshakerFactory;
    }

    static Resolution of(@Nullable HandshakerFactory factory) {
      return new Resolution(null, null, factory);
    }

    static Resolution error(String error) {
      return new Resolution(error, null, null);
    }
  }

  private static Resolution resolve(ChannelCredentials creds) {
    if (creds instanceof InsecureChannelCredentials) {
      return Resolution.of(null);
    }
    if (creds instanceof HandshakerCredentials) {
      return Resolution.of(((HandshakerCredentials) creds).handshakerFactory(true));
    }
    if (creds instanceof TlsChannelCredentials) {
      TlsChannelCredentials tls = (TlsChannelCredentials) creds;
      String reason = TlsHandshakers.unsupportedReason(tls);
      return reason != null ? Resolution.error(reason)
          : Resolution.of(TlsHandshakers.forClient(tls));
    }
    if (creds instanceof CompositeChannelCredentials) {
      CompositeChannelCredentials composite = (CompositeChannelCredentials) creds;
      Resolution inner = resolve(composite.getChannelCredentials());
      return inner.error != null ? inner
          // Over explicit plaintext the application chose to send tokens in clear (a local
          // sidecar, tests) and grpc-netty applies them too; over a security handshake they go
          // only where the server was authenticated (an unauthenticated one reports NONE).
          : new Resolution(null, inner.handshakerFactory == null
              ? composite.getCallCredentials()
              : new PrivacyRequiredCallCredentials(composite.getCallCredentials()),
              inner.handshakerFactory);
    }
    if (creds instanceof ChoiceChannelCredentials) {
      StringBuilder reasons = new StringBuilder();
      for (ChannelCredentials c : ((ChoiceChannelCredentials) creds).getCredentialsList()) {
        Resolution r = resolve(c);
        if (r.error == null) {
          return r;
        }
        reasons.append(reasons.length() == 0 ? "" : ", ").append(r.error);
      }
      return Resolution.error("no supported choice: " + reasons);
    }
    return Resolution.error("grpc-lean supports InsecureChannelCredentials, TlsChannelCredentials"
        + " and its own security credentials; got " + creds.getClass().getName());
  }

  /** The server's handshaker factory for {@code creds}; null for plaintext. */
  @Nullable
  static HandshakerFactory fromServer(ServerCredentials creds) {
    if (creds instanceof InsecureServerCredentials) {
      return null;
    }
    if (creds instanceof HandshakerCredentials) {
      return ((HandshakerCredentials) creds).handshakerFactory(false);
    }
    if (creds instanceof TlsServerCredentials) {
      return TlsHandshakers.forServer((TlsServerCredentials) creds);
    }
    if (creds instanceof ChoiceServerCredentials) {
      for (ServerCredentials c : ((ChoiceServerCredentials) creds).getCredentialsList()) {
        if (c instanceof InsecureServerCredentials || c instanceof HandshakerCredentials
            || (c instanceof TlsServerCredentials
                && TlsHandshakers.unsupportedReason((TlsServerCredentials) c) == null)) {
          return fromServer(c);
        }
      }
    }
    throw new IllegalArgumentException(
        "grpc-lean supports InsecureServerCredentials, TlsServerCredentials and its own security"
            + " credentials; got " + creds.getClass().getName());
  }
}
