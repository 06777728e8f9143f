package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ForwardingServerCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Real connections hibernate when idle (HPACK coders written down, frame reader dropped) and wake
 * on the next call with their header tables intact: metadata sent before and after each sleep
 * (new values, repeated ones the peer's table indexes) arrives unchanged both ways, with lean and
 * netty clients, and nothing stays leased.
 */
public class IdleHibernationTest {
  @Rule public final Timeout timeout = Timeout.seconds(120);

  private static final Metadata.Key<String> ECHO_KEY =
      Metadata.Key.of("x-echo", Metadata.ASCII_STRING_MARSHALLER);
  private static final int CYCLES = 3;

  @Test
  public void leanClientWakesAfterHibernation() throws Exception {
    Server server = startServer();
    run(server, LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext()
        .build(), 2);
  }

  @Test
  public void nettyClientWakesLeanServerAfterHibernation() throws Exception {
    Server server = startServer();
    run(server, io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder
        .forAddress("127.0.0.1", server.getPort()).usePlaintext().build(), 1);
  }

  private static Server startServer() throws Exception {
    ServerInterceptor echoHeader = new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call,
          Metadata headers, ServerCallHandler<Q, A> next) {
        String value = headers.get(ECHO_KEY);
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<Q, A>(call) {
          @Override
          public void sendHeaders(Metadata responseHeaders) {
            if (value != null) {
              responseHeaders.put(ECHO_KEY, value);
            }
            super.sendHeaders(responseHeaders);
          }
        }, headers);
      }
    };
    return LeanServerBuilder.forPort(0)
        .addService(ServerInterceptors.intercept(Echo.service(), echoHeader)).build().start();
  }

  /** {@code leanSides}: connections of ours that must hibernate each cycle (1 or 2). */
  private static void run(Server server, ManagedChannel channel, int leanSides) throws Exception {
    try {
      for (int cycle = 0; cycle < CYCLES; cycle++) {
        long before = IdleSweeper.hibernations();
        // New values fill the tables; repeats are sent as indexes into them.
        for (String value : new String[] {"cycle-" + cycle, "same", "v".repeat(100 + cycle),
            "same", "cycle-" + cycle}) {
          assertEquals(value, call(channel, value));
        }
        Conditions.await(() -> IdleSweeper.hibernations() >= before + leanSides,
            Duration.ofSeconds(20), () -> "connections did not hibernate");
        LeanLeases.assertNoneLeased();
      }
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    LeanLeases.assertNoneLeased();
  }

  /** One unary call carrying {@code value} in x-echo; returns the server's echo of it. */
  private static String call(Channel channel, String value) {
    Metadata headers = new Metadata();
    headers.put(ECHO_KEY, value);
    AtomicReference<Metadata> responseHeaders = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    Channel intercepted = io.grpc.ClientInterceptors.intercept(channel,
        MetadataUtils.newAttachHeadersInterceptor(headers),
        MetadataUtils.newCaptureMetadataInterceptor(responseHeaders, trailers));
    byte[] request = value.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    byte[] response = ClientCalls.blockingUnaryCall(intercepted, Echo.UNARY,
        CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), request);
    assertArrayEquals(request, response);
    return responseHeaders.get().get(ECHO_KEY);
  }
}
