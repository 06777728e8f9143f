package dev.grpclean.interop;

import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The interop suite, grpc-netty-shaded client to lean server. */
@RunWith(JUnit4.class)
public class NettyToLeanInteropTest extends PairingInteropTest {
  @Override
  protected ServerBuilder<?> newServerBuilder() {
    return LeanInteropBuilders.leanServer();
  }

  @Override
  protected ManagedChannelBuilder<?> newChannelBuilder(int port) {
    return PeerInteropBuilders.nettyChannel(port);
  }
}
