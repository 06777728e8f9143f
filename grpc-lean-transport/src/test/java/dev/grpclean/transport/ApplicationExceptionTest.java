package dev.grpclean.transport;

import static dev.grpclean.transport.FaultFixtures.await;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.FaultFixtures.ServerCallProbe;
import dev.grpclean.transport.FaultFixtures.ServerStreamCloses;
import dev.grpclean.transport.contract.ServerTransportCounter;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.Observers;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Application code throws from a callback, on either side of a lean-to-lean call: the call ends
 * with the status grpc-core gives (UNKNOWN when a server handler throws, CANCELLED when a client
 * listener throws), the connection stays up and serves the next call, and no lease is left.
 *
 * <p>The JUnit thread makes the calls; handlers and listeners run on grpc-core's executors and
 * report through futures.
 */
public class ApplicationExceptionTest {
  /** Thrown by the application code under test; tests check it arrives as the status's cause. */
  private static final class ApplicationBug extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ApplicationBug(String where) {
      super("application bug in " + where);
    }
  }

  @Rule public final Timeout timeout = Timeout.seconds(90);

  private final ServerCallProbe probe = new ServerCallProbe();
  private final ServerTransportCounter transports = new ServerTransportCounter();
  private final ServerStreamCloses closes = new ServerStreamCloses();
  private Server server;
  private ManagedChannel channel;
  private long baseline;

  @Before
  public void setUp() throws IOException {
    baseline = LeanLeases.baseline();
    server = LeanServerBuilder.forPort(0)
        .addTransportFilter(transports)
        .addStreamTracerFactory(closes)
        .addService(throwingService())
        .addService(Echo.service())
        .build()
        .start();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @After
  public void tearDown() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow();
    assertTrue("channel terminates", channel.awaitTermination(10, TimeUnit.SECONDS));
    assertTrue("server terminates", server.awaitTermination(10, TimeUnit.SECONDS));
    LeanLeases.assertBackTo(baseline);
  }

  @Test
  public void unaryHandlerThrowingEndsTheCallUnknown() throws Exception {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> ClientCalls.blockingUnaryCall(channel, FaultFixtures.UNARY, callOptions(),
            new byte[10]));
    assertEquals(e.getStatus().toString(), Status.Code.UNKNOWN, e.getStatus().getCode());
    assertEquals(Status.Code.UNKNOWN, closes.next().getCode());
    assertConnectionStillServes();
  }

  @Test
  public void serverStreamingHandlerThrowingAfterAMessageEndsTheCallUnknown() throws Exception {
    CompletableFuture<Status> status = new CompletableFuture<>();
    CompletableFuture<byte[]> first = new CompletableFuture<>();
    ClientCalls.asyncServerStreamingCall(channel.newCall(FaultFixtures.DOWNLOAD, callOptions()),
        new byte[] {1}, recordingObserver(first, status));
    assertArrayEquals(new byte[1000], await(first, "the message sent before the throw"));
    assertEquals(Status.Code.UNKNOWN, await(status, "the call's end").getCode());
    assertEquals(Status.Code.UNKNOWN, closes.next().getCode());
    assertConnectionStillServes();
  }

  /** The client keeps streaming after the server's handler threw on its first message. */
  @Test
  public void requestObserverThrowingFromOnNextEndsTheCallUnknown() throws Exception {
    CompletableFuture<Status> status = new CompletableFuture<>();
    StreamObserver<byte[]> requests = ClientCalls.asyncClientStreamingCall(
        channel.newCall(FaultFixtures.UPLOAD, callOptions()),
        recordingObserver(new CompletableFuture<>(), status));
    requests.onNext(new byte[100]);
    Status ended = await(status, "the call's end");
    assertEquals(ended.toString(), Status.Code.UNKNOWN, ended.getCode());
    assertEquals(Status.Code.UNKNOWN, closes.next().getCode());
    // Late requests on the finished call go nowhere and hold nothing.
    requests.onNext(new byte[100]);
    requests.onCompleted();
    assertConnectionStillServes();
  }

  @Test
  public void bidiRequestObserverThrowingEndsTheCallUnknown() throws Exception {
    CompletableFuture<Status> status = new CompletableFuture<>();
    CompletableFuture<byte[]> first = new CompletableFuture<>();
    StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(
        channel.newCall(FaultFixtures.BIDI, callOptions()), recordingObserver(first, status));
    requests.onNext(new byte[] {1}); // echoed
    assertArrayEquals(new byte[] {1}, await(first, "the echo of the first request"));
    requests.onNext(new byte[] {2}); // the handler throws
    assertEquals(Status.Code.UNKNOWN, await(status, "the call's end").getCode());
    assertEquals(Status.Code.UNKNOWN, closes.next().getCode());
    assertConnectionStillServes();
  }

  /**
   * The client's listener throws on the first message of a download the server keeps sending:
   * grpc-core cancels the call (CANCELLED, the exception as cause), the server sees the cancel.
   */
  @Test
  public void clientListenerThrowingFromOnMessageCancelsTheCall() throws Exception {
    ApplicationBug bug = new ApplicationBug("onMessage");
    Status status = callWithThrowingListener(bug, false);
    assertEquals(status.toString(), Status.Code.CANCELLED, status.getCode());
    assertSame(bug, status.getCause());
    probe.assertCancelled();
    assertEquals(Status.Code.CANCELLED, closes.next().getCode());
    assertConnectionStillServes();
  }

  @Test
  public void clientListenerThrowingFromOnHeadersCancelsTheCall() throws Exception {
    ApplicationBug bug = new ApplicationBug("onHeaders");
    Status status = callWithThrowingListener(bug, true);
    assertEquals(status.toString(), Status.Code.CANCELLED, status.getCode());
    assertSame(bug, status.getCause());
    probe.assertCancelled();
    assertEquals(Status.Code.CANCELLED, closes.next().getCode());
    assertConnectionStillServes();
  }

  /**
   * Calls the endless ({@code BIDI}) download with a listener that throws {@code bug} from
   * onHeaders or onMessage; returns the status onClose got.
   */
  private Status callWithThrowingListener(ApplicationBug bug, boolean inHeaders)
      throws InterruptedException {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(FaultFixtures.BIDI, callOptions());
    call.start(new ClientCall.Listener<byte[]>() {
      @Override
      public void onHeaders(Metadata headers) {
        if (inHeaders) {
          throw bug;
        }
      }

      @Override
      public void onMessage(byte[] message) {
        throw bug;
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(1);
    call.sendMessage(ENDLESS);
    return await(closed, "the call's end");
  }

  /** Same connection, still serving: a follow-up call succeeds, no transport came or went. */
  private void assertConnectionStillServes() throws InterruptedException {
    byte[] request = {7, 7};
    assertArrayEquals(request,
        ClientCalls.blockingUnaryCall(channel, Echo.UNARY, callOptions(), request));
    assertEquals("connections", 1, transports.ready());
    assertEquals("terminated connections", 0, transports.terminated());
    // The idle connection holds nothing.
    LeanLeases.assertBackTo(baseline);
  }

  private static CallOptions callOptions() {
    return CallOptions.DEFAULT.withDeadlineAfter(FaultFixtures.WAIT.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private static StreamObserver<byte[]> recordingObserver(CompletableFuture<byte[]> first,
      CompletableFuture<Status> end) {
    return Observers.endingIn(end, first::complete);
  }

  /** A BIDI request with this content asks for an endless download instead of an echo. */
  private static final byte[] ENDLESS = {'e', 'n', 'd', 'l', 'e', 's', 's'};

  private ServerServiceDefinition throwingService() {
    return ServerServiceDefinition.builder(FaultFixtures.SERVICE)
        .addMethod(FaultFixtures.UNARY, ServerCalls.asyncUnaryCall((request, responses) -> {
          throw new ApplicationBug("unary handler");
        }))
        .addMethod(FaultFixtures.DOWNLOAD, ServerCalls.asyncServerStreamingCall(
            (request, responses) -> {
              responses.onNext(new byte[1000]);
              throw new ApplicationBug("server-streaming handler");
            }))
        .addMethod(FaultFixtures.UPLOAD, ServerCalls.asyncClientStreamingCall(responses ->
            new StreamObserver<byte[]>() {
              @Override
              public void onNext(byte[] value) {
                throw new ApplicationBug("client-streaming onNext");
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {
                responses.onCompleted();
              }
            }))
        .addMethod(FaultFixtures.BIDI, ServerCalls.asyncBidiStreamingCall(responses -> {
          probe.attach(responses);
          ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) responses;
          byte[] message = new byte[4096];
          // All of the call's callbacks run on its serialized executor: plain fields suffice.
          boolean[] endless = {false};
          Runnable sendWhileReady = () -> {
            while (endless[0] && call.isReady() && !call.isCancelled()) {
              call.onNext(message);
            }
          };
          call.setOnReadyHandler(sendWhileReady);
          return new StreamObserver<byte[]>() {
            private int requests;

            @Override
            public void onNext(byte[] value) {
              if (java.util.Arrays.equals(value, ENDLESS)) {
                endless[0] = true;
                sendWhileReady.run();
                return;
              }
              if (++requests > 1) {
                throw new ApplicationBug("bidi onNext");
              }
              call.onNext(value);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {
              call.onCompleted();
            }
          };
        }))
        .build();
  }
}
