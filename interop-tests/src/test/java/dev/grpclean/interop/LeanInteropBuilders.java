package dev.grpclean.interop;

import dev.grpclean.transport.InternalLeanChannelBuilder;
import dev.grpclean.transport.InternalLeanServerBuilder;
import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.testing.integration.AbstractInteropTest;

/**
 * Our transport's builders configured for the interop suite.
 *
 * <p>Thread-safe (stateless).
 */
final class LeanInteropBuilders {
  private LeanInteropBuilders() {}

  static LeanServerBuilder leanServer() {
    LeanServerBuilder builder =
        LeanServerBuilder.forPort(0)
            .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
            .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalLeanServerBuilder.setStatsEnabled(builder, false);
    return builder;
  }

  static LeanChannelBuilder leanChannel(int port) {
    LeanChannelBuilder builder =
        LeanChannelBuilder.forAddress("localhost", port)
            .usePlaintext()
            .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
            .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalLeanChannelBuilder.setStatsEnabled(builder, false);
    return builder;
  }
}
