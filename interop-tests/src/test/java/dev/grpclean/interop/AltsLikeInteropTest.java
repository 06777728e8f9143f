package dev.grpclean.interop;

import dev.grpclean.alts.AltsLikeChannelCredentials;
import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.AltsLikeServerCredentials;
import dev.grpclean.transport.InternalLeanChannelBuilder;
import dev.grpclean.transport.InternalLeanServerBuilder;
import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import io.grpc.testing.integration.AbstractInteropTest;
import java.security.GeneralSecurityException;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The interop suite, lean client to lean server, both behind the ALTS-like handshake and record
 * layer; each side accepts only the other's identity. Otherwise configured as {@link
 * LeanInteropBuilders} does for plaintext.
 */
@RunWith(JUnit4.class)
public class AltsLikeInteropTest extends PairingInteropTest {
  /** Generated once per class: key generation is the slowest part of a short test. */
  private static final AltsLikeIdentity SERVER_ID = generate();
  private static final AltsLikeIdentity CLIENT_ID = generate();

  @Override
  protected ServerBuilder<?> newServerBuilder() {
    AltsLikeServerCredentials creds = AltsLikeServerCredentials.newBuilder()
        .identity(SERVER_ID)
        .acceptPeers(CLIENT_ID.publicKey())
        .build();
    LeanServerBuilder builder = LeanServerBuilder.forPort(0, creds)
        .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
        .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalLeanServerBuilder.setStatsEnabled(builder, false);
    return builder;
  }

  @Override
  protected ManagedChannelBuilder<?> newChannelBuilder(int port) {
    AltsLikeChannelCredentials creds = AltsLikeChannelCredentials.newBuilder()
        .identity(CLIENT_ID)
        .acceptPeers(SERVER_ID.publicKey())
        .build();
    LeanChannelBuilder builder = LeanChannelBuilder.forAddress("localhost", port, creds)
        .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
        .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalLeanChannelBuilder.setStatsEnabled(builder, false);
    return builder;
  }

  private static AltsLikeIdentity generate() {
    try {
      return AltsLikeIdentity.generate();
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }
}
