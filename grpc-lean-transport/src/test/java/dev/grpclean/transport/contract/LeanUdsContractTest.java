package dev.grpclean.transport.contract;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.StreamRecorder;
import java.net.UnixDomainSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Lean client to lean server over a Unix domain socket. */
@RunWith(JUnit4.class)
public class LeanUdsContractTest {
  private static final int MESSAGES = 500;

  @Rule public final Timeout timeout = Timeout.seconds(60);
  @Rule public final TemporaryFolder folder = new TemporaryFolder();

  private final AtomicReference<ServerCall<?, ?>> serverCall = new AtomicReference<>();
  private Server server;
  private ManagedChannel channel;

  @Before
  public void startServerAndChannel() throws Exception {
    UnixDomainSocketAddress address =
        UnixDomainSocketAddress.of(folder.getRoot().toPath().resolve("grpc.sock"));
    server =
        LeanServerBuilder.forAddress(address)
            .addService(EchoService.definition())
            .intercept(
                new ServerInterceptor() {
                  @Override
                  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
                      ServerCall<ReqT, RespT> call,
                      Metadata headers,
                      ServerCallHandler<ReqT, RespT> next) {
                    serverCall.set(call);
                    return next.startCall(call, headers);
                  }
                })
            .build()
            .start();
    channel = LeanChannelBuilder.forAddress(address).usePlaintext().build();
  }

  @After
  public void shutDown() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    assertTrue(channel.awaitTermination(10, TimeUnit.SECONDS));
    assertTrue(server.awaitTermination(10, TimeUnit.SECONDS));
    LeanLeases.assertAllReturned();
  }

  @Test
  public void unaryCallOverUnixDomainSocket() {
    byte[] request = Payloads.random(64 * 1024 + 3, 5);
    assertArrayEquals(
        request, ClientCalls.blockingUnaryCall(channel, ContractMethods.UNARY, options(), request));
    assertNotNull(serverCall.get().getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR));
    assertNotNull(serverCall.get().getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
  }

  @Test
  public void bidiStreamingOverUnixDomainSocket() throws Exception {
    StreamRecorder<byte[]> echoes = StreamRecorder.create();
    StreamObserver<byte[]> requests =
        ClientCalls.asyncBidiStreamingCall(
            channel.newCall(ContractMethods.BIDI_STREAMING, options()), echoes);
    for (int i = 0; i < MESSAGES; i++) {
      requests.onNext(Payloads.numbered(i, 4 + i * 61));
    }
    requests.onCompleted();

    assertTrue(echoes.awaitCompletion(20, TimeUnit.SECONDS));
    if (echoes.getError() != null) {
      throw new AssertionError("call failed", echoes.getError());
    }
    List<byte[]> values = echoes.getValues();
    assertEquals(MESSAGES, values.size());
    for (int i = 0; i < MESSAGES; i++) {
      assertEquals(i, Payloads.sequenceOf(values.get(i)));
    }
  }

  private static CallOptions options() {
    return CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS);
  }
}
