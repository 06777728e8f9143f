package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.Observers;
import io.grpc.CallOptions;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * grpc-core learns that a server call is complete (the application's {@code onComplete}) only
 * once the write of the call's trailers has happened ({@link CompletionsAfterWrite}). With a
 * direct executor, {@code onComplete} runs on the server's loop thread, where the transport
 * reports the completion; here it waits for the client to have the whole response. Reported while
 * the writer was still filling the buffer that holds the trailers (as before), the response could
 * not leave until the wait gave up, and every call recorded a timeout.
 */
public class CompletionsAfterWriteTest {
  @Rule public final Timeout timeout = Timeout.seconds(120);

  private static final int CALLS = 20;
  /** How long onComplete waits for the client; only a response that never left reaches it. */
  private static final long CLIENT_WAIT_SECONDS = 10;

  private Server server;
  private ManagedChannel channel;

  @After
  public void tearDown() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    LeanLeases.assertNoneLeased();
  }

  @Test
  public void serverCallCompletesAfterItsTrailersAreWritten() throws Exception {
    AtomicReference<CompletableFuture<Status>> clientEnd = new AtomicReference<>();
    List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    ServerInterceptor waitForClient = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
          Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        CompletableFuture<Status> end = clientEnd.get();
        return new SimpleForwardingServerCallListener<ReqT>(next.startCall(call, headers)) {
          @Override
          public void onComplete() {
            try {
              Status status = end.get(CLIENT_WAIT_SECONDS, TimeUnit.SECONDS);
              if (!status.isOk()) {
                failures.add("client ended with " + status);
              }
            } catch (TimeoutException e) {
              failures.add("the client did not have the response when the call completed");
            } catch (Exception e) {
              failures.add(e.toString());
            }
            super.onComplete();
          }
        };
      }
    };
    server = LeanServerBuilder.forPort(0)
        .pollerThreads(1)
        .directExecutor()
        .addService(ServerInterceptors.intercept(Echo.service(), waitForClient))
        .build()
        .start();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext()
        .pollerThreads(1)
        .build();
    byte[] request = new byte[100];
    for (int i = 0; i < CALLS; i++) {
      CompletableFuture<Status> end = new CompletableFuture<>();
      clientEnd.set(end);
      List<byte[]> responses = java.util.Collections.synchronizedList(new ArrayList<>());
      ClientCalls.asyncUnaryCall(channel.newCall(Echo.UNARY, CallOptions.DEFAULT), request,
          Observers.endingIn(end, responses::add));
      assertEquals(Status.Code.OK,
          end.get(Echo.CALL_DEADLINE_SECONDS, TimeUnit.SECONDS).getCode());
      assertEquals(1, responses.size());
      assertArrayEquals(request, responses.get(0));
      // Reported before the write, the wait in onComplete gave up before the client could end.
      assertEquals("call " + i, List.of(), failures);
    }
  }
}
