package dev.grpclean.transport.contract;

import io.grpc.ManagedChannelBuilder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The transport contract, grpc-okhttp client to lean server. */
@RunWith(JUnit4.class)
public class OkHttpToLeanContractTest extends LeanServerContractTest {
  @Override
  protected ManagedChannelBuilder<?> newChannelBuilder(int port) {
    return PeerBuilders.okHttpChannel(port);
  }
}
