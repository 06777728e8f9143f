package dev.grpclean.transport.contract;

import io.grpc.ManagedChannelBuilder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The transport contract, lean client to lean server. */
@RunWith(JUnit4.class)
public class LeanToLeanContractTest extends LeanServerContractTest {
  @Override
  protected ManagedChannelBuilder<?> newChannelBuilder(int port) {
    return LeanBuilders.channel(port);
  }
}
