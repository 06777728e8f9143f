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
    String error = unsupportedReason(creds);
    if (error != null) {
      throw new IllegalArgumentException(error);
    }
    return new ChannelResult(callCredentials(creds), handshakerFactory(creds));
  }

  @Nullable
  private static HandshakerFactory handshakerFactory(ChannelCredentials creds) {
    if (creds instanceof HandshakerCredentials) {
      return ((HandshakerCredentials) creds).handshakerFactory(true);
    }
    if (creds instanceof TlsChannelCredentials) {
      return TlsHandshakers.forClient((TlsChannelCredentials) creds);
    }
    if (creds instanceof CompositeChannelCredentials) {
      return handshakerFactory(((CompositeChannelCredentials) creds).getChannelCredentials());
    }
    if (creds instanceof ChoiceChannelCredentials) {
      for (ChannelCredentials c : ((ChoiceChannelCredentials) creds).getCredentialsList()) {
        if (unsupportedReason(c) == null) {
          return handshakerFactory(c);
        }
      }
    }
    return null;
  }

  @Nullable
  private static String unsupportedReason(ChannelCredentials creds) {
    if (creds instanceof InsecureChannelCredentials || creds instanceof HandshakerCredentials) {
      return null;
    }
    if (creds instanceof TlsChannelCredentials) {
      return TlsHandshakers.unsupportedReason((TlsChannelCredentials) creds);
    }
    if (creds instanceof CompositeChannelCredentials) {
      return unsupportedReason(((CompositeChannelCredentials) creds).getChannelCredentials());
    }
    if (creds instanceof ChoiceChannelCredentials) {
      StringBuilder reasons = new StringBuilder();
      for (ChannelCredentials c : ((ChoiceChannelCredentials) creds).getCredentialsList()) {
        String r = unsupportedReason(c);
        if (r == null) {
          return null;
        }
        reasons.append(reasons.length() == 0 ? "" : ", ").append(r);
      }
      return "no supported choice: " + reasons;
    }
    return "grpc-lean supports InsecureChannelCredentials, TlsChannelCredentials and its own"
        + " security credentials; got " + creds.getClass().getName();
  }

  @Nullable
  private static CallCredentials callCredentials(ChannelCredentials creds) {
    if (creds instanceof CompositeChannelCredentials) {
      CompositeChannelCredentials c = (CompositeChannelCredentials) creds;
      return c.getCallCredentials();
    }
    if (creds instanceof ChoiceChannelCredentials) {
      for (ChannelCredentials c : ((ChoiceChannelCredentials) creds).getCredentialsList()) {
        if (unsupportedReason(c) == null) {
          return callCredentials(c);
        }
      }
    }
    return null;
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
