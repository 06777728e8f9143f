package dev.grpclean.transport.contract;

import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The transport contract, lean client to grpc-netty-shaded server. */
@RunWith(JUnit4.class)
public class LeanToNettyContractTest extends AbstractTransportContractTest {
  @Override
  protected ServerBuilder<?> newServerBuilder(int port) {
    return PeerBuilders.nettyServer(port);
  }

  @Override
  protected ManagedChannelBuilder<?> newChannelBuilder(int port) {
    return LeanBuilders.channel(port);
  }

  @Override
  protected void setMaxConcurrentCallsPerConnection(ServerBuilder<?> builder, int calls) {
    PeerBuilders.nettyMaxConcurrentCalls(builder, calls);
  }

  @Override
  protected void assertResourcesReleased() {
    LeanLeases.assertAllReturned();
  }
}
