package dev.grpclean.transport;

import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.ChoiceChannelCredentials;
import io.grpc.ChoiceServerCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import javax.annotation.Nullable;

/**
 * Reduces grpc credentials to what the transport supports. Plaintext only for now; anything else
 * is refused at build time with a message that says what is supported.
 *
 * <p>Stateless; thread-safe.
 */
final class LeanCredentials {
  private LeanCredentials() {}

  /** The outcome for channel credentials: call credentials to attach, if any. */
  static final class ChannelResult {
    @Nullable final CallCredentials callCredentials;

    ChannelResult(@Nullable CallCredentials callCredentials) {
      this.callCredentials = callCredentials;
    }
  }

  static ChannelResult fromChannel(ChannelCredentials creds) {
    String error = unsupportedReason(creds);
    if (error != null) {
      throw new IllegalArgumentException(error);
    }
    return new ChannelResult(callCredentials(creds));
  }

  @Nullable
  private static String unsupportedReason(ChannelCredentials creds) {
    if (creds instanceof InsecureChannelCredentials) {
      return null;
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
    return "grpc-lean supports only InsecureChannelCredentials (plaintext) so far; got "
        + creds.getClass().getName();
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

  static void checkServer(ServerCredentials creds) {
    if (creds instanceof InsecureServerCredentials) {
      return;
    }
    if (creds instanceof ChoiceServerCredentials) {
      for (ServerCredentials c : ((ChoiceServerCredentials) creds).getCredentialsList()) {
        if (c instanceof InsecureServerCredentials) {
          return;
        }
      }
    }
    throw new IllegalArgumentException(
        "grpc-lean supports only InsecureServerCredentials (plaintext) so far; got "
            + creds.getClass().getName());
  }
}
