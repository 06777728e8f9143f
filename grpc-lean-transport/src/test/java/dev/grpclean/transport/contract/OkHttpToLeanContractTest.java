package dev.grpclean.transport.contract;

import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The transport contract, grpc-okhttp client to lean server. */
@RunWith(JUnit4.class)
public class OkHttpToLeanContractTest extends AbstractTransportContractTest {
  @Override
  protected ServerBuilder<?> newServerBuilder(int port) {
    return LeanBuilders.server(port);
  }

  @Override
  protected ManagedChannelBuilder<?> newChannelBuilder(int port) {
    return PeerBuilders.okHttpChannel(port);
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
