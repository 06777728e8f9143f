package dev.grpclean.transport.contract;

import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Reference pairing: grpc-netty-shaded on both ends. Proves the suite itself is right. */
@RunWith(JUnit4.class)
public class NettyToNettyContractTest extends AbstractTransportContractTest {
  @Override
  protected ServerBuilder<?> newServerBuilder(int port) {
    return PeerBuilders.nettyServer(port);
  }

  @Override
  protected ManagedChannelBuilder<?> newChannelBuilder(int port) {
    return PeerBuilders.nettyChannel(port);
  }

  @Override
  protected void setMaxConcurrentCallsPerConnection(ServerBuilder<?> builder, int calls) {
    PeerBuilders.nettyMaxConcurrentCalls(builder, calls);
  }
}
