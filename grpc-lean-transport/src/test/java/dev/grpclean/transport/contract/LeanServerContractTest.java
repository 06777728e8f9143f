package dev.grpclean.transport.contract;

import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.ServerBuilder;

/** The transport contract against a lean server; subclasses choose the client transport. */
public abstract class LeanServerContractTest extends AbstractTransportContractTest {
  @Override
  protected ServerBuilder<?> newServerBuilder(int port) {
    return LeanBuilders.server(port);
  }

  @Override
  protected void setMaxConcurrentCallsPerConnection(ServerBuilder<?> builder, int calls) {
    LeanBuilders.maxConcurrentCalls(builder, calls);
  }

  @Override
  protected void assertResourcesReleased() {
    LeanLeases.assertAllReturned();
  }
}
