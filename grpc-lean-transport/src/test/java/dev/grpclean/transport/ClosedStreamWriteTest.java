package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;

import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Unary calls that the server fails at once (UNIMPLEMENTED, trailers-only). When the response
 * closes the stream between the application's {@code sendMessage} and {@code halfClose},
 * grpc-core's retry layer drops the half-close and the framer never delivers the buffer holding
 * the request; about one call in a hundred hits that window here. The transport must end that
 * lease when it is finished with the stream.
 */
public class ClosedStreamWriteTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final MethodDescriptor<byte[], byte[]> MISSING =
      Echo.UNARY.toBuilder().setFullMethodName("test.Echo/Missing").build();
  private static final int CHANNELS = 4;
  private static final int CALLS_PER_CHANNEL = 250;

  private Server server;

  @After
  public void tearDown() throws Exception {
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  public void requestsToAnUnimplementedMethodOnALeanServerLeaveNoLease() throws Exception {
    server = LeanServerBuilder.forPort(0).addService(Echo.service()).build().start();
    callMissingMethodAndCheckLeases();
  }

  @Test
  public void requestsToAnUnimplementedMethodOnANettyServerLeaveNoLease() throws Exception {
    server = io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder.forPort(0)
        .addService(Echo.service()).build().start();
    callMissingMethodAndCheckLeases();
  }

  private void callMissingMethodAndCheckLeases() throws Exception {
    for (int c = 0; c < CHANNELS; c++) {
      ManagedChannel channel =
          LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
      try {
        for (int i = 0; i < CALLS_PER_CHANNEL; i++) {
          try {
            ClientCalls.blockingUnaryCall(channel, MISSING,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[1]);
          } catch (StatusRuntimeException e) {
            assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
          }
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    LeanLeases.assertNoneLeased();
  }
}
