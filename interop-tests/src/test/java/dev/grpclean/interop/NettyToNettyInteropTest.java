package dev.grpclean.interop;

import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Reference pairing, grpc-netty-shaded on both ends; validates the harness. */
@RunWith(JUnit4.class)
public class NettyToNettyInteropTest extends PairingInteropTest {
  @Override
  protected ServerBuilder<?> newServerBuilder() {
    return PeerInteropBuilders.nettyServer();
  }

  @Override
  protected ManagedChannelBuilder<?> newChannelBuilder(int port) {
    return PeerInteropBuilders.nettyChannel(port);
  }
}
