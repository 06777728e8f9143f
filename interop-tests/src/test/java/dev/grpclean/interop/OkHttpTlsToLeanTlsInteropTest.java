package dev.grpclean.interop;

import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The interop suite over TLS, grpc-okhttp client to lean server. */
@RunWith(JUnit4.class)
public class OkHttpTlsToLeanTlsInteropTest extends TlsPairingInteropTest {
  @Override
  protected ServerBuilder<?> newTlsServerBuilder() {
    return TlsInteropBuilders.leanServer();
  }

  @Override
  protected ManagedChannelBuilder<?> newChannelBuilder(int port) {
    return TlsInteropBuilders.okHttpChannel(port);
  }
}
