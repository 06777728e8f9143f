package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.grpclean.transport.testing.Echo;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** Like grpc-netty, a channel built without credentials or usePlaintext() speaks TLS. */
public class DefaultSecurityTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Test
  public void channelWithoutCredentialsUsesTlsAndFailsAgainstAPlaintextServer() throws Exception {
    Server server = LeanServerBuilder.forPort(0).addService(Echo.service()).build()
        .start();
    ManagedChannel channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).build();
    try {
      ClientCalls.blockingUnaryCall(channel, Echo.UNARY,
          CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), new byte[1]);
      fail("a TLS client must not talk to a plaintext server");
    } catch (StatusRuntimeException e) {
      assertEquals(e.toString(), Status.Code.UNAVAILABLE, e.getStatus().getCode());
      assertTrue(e.toString(), String.valueOf(e.getStatus().getDescription()).contains("TLS")
          || String.valueOf(e.getStatus().getDescription()).contains("handshake"));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
