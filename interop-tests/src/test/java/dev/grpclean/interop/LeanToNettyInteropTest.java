package dev.grpclean.interop;

import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The interop suite, lean client to grpc-netty-shaded server. */
@RunWith(JUnit4.class)
public class LeanToNettyInteropTest extends PairingInteropTest {
  @Override
  protected ServerBuilder<?> newServerBuilder() {
    return PeerInteropBuilders.nettyServer();
  }

  @Override
  protected ManagedChannelBuilder<?> newChannelBuilder(int port) {
    return LeanInteropBuilders.leanChannel(port);
  }
}
