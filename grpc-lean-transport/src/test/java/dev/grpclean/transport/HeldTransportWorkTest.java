package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * A call that sends one message holds grpc-core's transport-thread work (its deframer's
 * {@code request(n)}) and its message's buffer until its END_STREAM ({@link HeldRequest}): one
 * client loop task per unary call instead of three. The held request must still run, whatever
 * thread calls {@code request} and whenever (otherwise the deframer never hands the response over
 * and the call hangs), and a held buffer goes back to its pool however the call ends.
 *
 * <p>Thread-compatible: each test runs on one thread, with a fresh instance (its calls' races run
 * on a pool of its own).
 */
public class HeldTransportWorkTest {
  @Rule public final Timeout timeout = Timeout.seconds(120);

  private Server server;
  private LeanChannelBuilder channelBuilder;
  private ManagedChannel channel;

  @Before
  public void setUp() throws Exception {
    server = LeanServerBuilder.forPort(0).addService(Echo.service()).build().start();
    // A poller thread of its own: its task count is the channel's alone.
    channelBuilder = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().pollerThreads(1);
    channel = channelBuilder.build();
  }

  @After
  public void tearDown() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    assertTrue(channel.awaitTermination(5, TimeUnit.SECONDS));
    assertTrue(server.awaitTermination(5, TimeUnit.SECONDS));
    LeanLeases.assertNoneLeased();
  }

  @Test
  public void unaryCallsCostTheClientLoopOneTaskEach() throws Exception {
    byte[] request = new byte[10];
    assertArrayEquals(request, asyncCall(request)); // connection set up
    long before = tasksRun();
    int calls = 200;
    for (int i = 0; i < calls; i++) {
      assertArrayEquals(request, asyncCall(request));
    }
    long tasks = tasksRun() - before;
    // Each call's request(n), its message (the retry buffer flushes it) and its END_STREAM were
    // three tasks before; the stats snapshots add one each.
    assertTrue("client loop tasks for " + calls + " unary calls: " + tasks,
        tasks <= calls + 2);
  }

  @Test
  public void messageHeldByACallCancelledBeforeItsHalfCloseGoesBackToItsPool() throws Exception {
    byte[] request = new byte[100];
    assertArrayEquals(request, asyncCall(request)); // connection set up
    for (int i = 0; i < 50; i++) {
      ClientCall<byte[], byte[]> call = channel.newCall(Echo.UNARY, CallOptions.DEFAULT);
      CompletableFuture<byte[]> response = new CompletableFuture<>();
      call.start(listener(response), new Metadata());
      call.request(1);
      call.sendMessage(request); // framed and flushed: its buffer is held for the END_STREAM
      call.cancel("cancelled before its half-close", null);
      try {
        response.get(20, TimeUnit.SECONDS);
        throw new AssertionError("a cancelled call answered");
      } catch (java.util.concurrent.ExecutionException e) {
        assertEquals(Status.Code.CANCELLED, Status.fromThrowable(e.getCause()).getCode());
      }
    }
    assertArrayEquals("the connection still serves calls", request, asyncCall(request));
    // tearDown checks that no lease is left.
  }

  @Test
  public void messageHeldByACallWhoseTransportGoesAwayGoesBackToItsPool() throws Exception {
    byte[] request = new byte[100];
    assertArrayEquals(request, asyncCall(request)); // connection set up
    List<CompletableFuture<byte[]>> responses = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      ClientCall<byte[], byte[]> call = channel.newCall(Echo.UNARY, CallOptions.DEFAULT);
      CompletableFuture<byte[]> response = new CompletableFuture<>();
      call.start(listener(response), new Metadata());
      call.request(1);
      call.sendMessage(request); // held; the call never half-closes
      responses.add(response);
    }
    channel.shutdownNow();
    for (CompletableFuture<byte[]> r : responses) {
      try {
        r.get(20, TimeUnit.SECONDS);
        throw new AssertionError("a call that never half-closed answered");
      } catch (java.util.concurrent.ExecutionException e) {
        assertTrue(e.getCause().toString(), Status.fromThrowable(e.getCause()).getCode()
            != Status.Code.OK);
      }
    }
    assertTrue(channel.awaitTermination(5, TimeUnit.SECONDS));
    // tearDown checks that no lease is left.
  }

  private byte[] asyncCall(byte[] request) throws Exception {
    CompletableFuture<byte[]> response = new CompletableFuture<>();
    ClientCalls.asyncUnaryCall(channel.newCall(Echo.UNARY, CallOptions.DEFAULT), request,
        new StreamObserver<byte[]>() {
          @Override
          public void onNext(byte[] value) {
            response.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            response.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    return response.get(20, TimeUnit.SECONDS);
  }

  @Test
  public void requestFromAnotherThreadRacingTheWriteIsNeverLost() throws Exception {
    byte[] request = new byte[] {1, 2, 3};
    assertArrayEquals(request, Echo.call(channel, request)); // connection set up
    ExecutorService requester = Executors.newSingleThreadExecutor();
    try {
      CyclicBarrier bothReady = new CyclicBarrier(2);
      for (int i = 0; i < 2_000; i++) {
        ClientCall<byte[], byte[]> call = channel.newCall(Echo.UNARY, CallOptions.DEFAULT);
        CompletableFuture<byte[]> response = new CompletableFuture<>();
        call.start(listener(response), new Metadata());
        // request(int) may be called from any thread (ClientCall's contract): here it races the
        // write, landing before, during or after the sink hands the held work over.
        Future<?> requested = requester.submit(() -> {
          bothReady.await();
          call.request(1);
          return null;
        });
        bothReady.await();
        call.sendMessage(request);
        call.halfClose();
        requested.get(20, TimeUnit.SECONDS);
        assertArrayEquals("call " + i, request, response.get(20, TimeUnit.SECONDS));
      }
    } finally {
      requester.shutdownNow();
    }
  }

  @Test
  public void heldRequestOfACallCancelledBeforeItsMessageLetsTheCallClose() throws Exception {
    List<CompletableFuture<Status>> closed = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      ClientCall<byte[], byte[]> call = channel.newCall(Echo.UNARY, CallOptions.DEFAULT);
      CompletableFuture<Status> c = new CompletableFuture<>();
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onClose(Status status, Metadata trailers) {
          c.complete(status);
        }
      }, new Metadata());
      call.request(1);
      call.cancel("cancelled before its message", null);
      closed.add(c);
    }
    for (CompletableFuture<Status> c : closed) {
      assertEquals(Status.Code.CANCELLED, c.get(20, TimeUnit.SECONDS).getCode());
    }
    byte[] request = new byte[5];
    assertArrayEquals("the connection still serves calls", request, Echo.call(channel, request));
  }

  private long tasksRun() {
    return channelBuilder.connectionStats().snapshot()
        .get(LeanConnectionStats.Figure.LOOP_TASKS_RUN);
  }

  private static ClientCall.Listener<byte[]> listener(CompletableFuture<byte[]> response) {
    return new ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        response.complete(message);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        if (!status.isOk()) {
          response.completeExceptionally(status.asRuntimeException());
        }
      }
    };
  }
}
