package dev.grpclean.interop;

import io.grpc.ForwardingServerBuilder;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.testing.integration.AbstractInteropTest;

/**
 * The official interop suite for one client/server pairing, set up as grpc-java's own
 * Http2NettyTest: plaintext here, the small {@link #TEST_FLOW_CONTROL_WINDOW}, {@link
 * #MAX_MESSAGE_SIZE} on both sides, and the suite's fake census in place of the default stats so
 * its metric assertions run.
 *
 * <p>Thread-compatible (JUnit runs each test on one thread).
 */
public abstract class PairingInteropTest extends AbstractInteropTest {
  private Server server;

  /**
   * Returns a plaintext server builder on a free port with the flow control window, message limit
   * and default stats disabled.
   */
  protected abstract ServerBuilder<?> newServerBuilder();

  /** Returns a plaintext channel builder to {@code localhost:port}, configured likewise. */
  protected abstract ManagedChannelBuilder<?> newChannelBuilder(int port);

  @Override
  protected final ServerBuilder<?> getServerBuilder() {
    ServerBuilder<?> builder = newServerBuilder();
    builder.addStreamTracerFactory(createCustomCensusTracerFactory());
    // The base class keeps its server to itself; remember it to learn the port it got.
    return new CapturingServerBuilder(builder);
  }

  @Override
  protected final ManagedChannelBuilder<?> createChannelBuilder() {
    return newChannelBuilder(server.getPort()).intercept(createCensusStatsClientInterceptor());
  }

  /** Passes everything to the real builder and remembers the server it builds. */
  private final class CapturingServerBuilder
      extends ForwardingServerBuilder<CapturingServerBuilder> {
    private final ServerBuilder<?> builder;

    CapturingServerBuilder(ServerBuilder<?> builder) {
      this.builder = builder;
    }

    @Override
    protected ServerBuilder<?> delegate() {
      return builder;
    }

    @Override
    public Server build() {
      server = builder.build();
      return server;
    }
  }
}
