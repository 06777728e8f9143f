package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.testing.ByteMethods;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The server's request(n) runs grpc-core's deframer on the application thread that calls it, under
 * the stream's monitor, while the loop hands the same deframer DATA (see
 * {@link LeanServerStream.State#runOnTransportThread}). Handlers here request one message at a
 * time from a thread pool of their own while clients send as fast as flow control lets them:
 * every message arrives once and in order, consumed bytes still reopen the windows (an upload many
 * times the window completes), and every inbound lease goes back to its pool.
 *
 * <p>Thread-compatible (JUnit runs each test on one thread; the calls run on grpc's threads and
 * the handlers' pool).
 */
@RunWith(JUnit4.class)
public class ServerOffLoopRequestTest {
  @Rule public final Timeout timeout = Timeout.seconds(120);

  private static final MethodDescriptor<byte[], byte[]> UPLOAD =
      ByteMethods.method(MethodType.CLIENT_STREAMING, "test.OffLoop", "Upload");
  private static final MethodDescriptor<byte[], byte[]> ECHO =
      ByteMethods.method(MethodType.UNARY, "test.OffLoop", "Echo");
  /** Small, so the uploads below are many windows long. */
  private static final int WINDOW_BYTES = 64 * 1024;

  private final ExecutorService requesters = Executors.newFixedThreadPool(4);
  private Server server;
  private ManagedChannel channel;

  @Before
  public void setUp() throws Exception {
    ServerServiceDefinition service = ServerServiceDefinition.builder("test.OffLoop")
        .addMethod(UPLOAD, new OneAtATimeUpload())
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((byte[] request, io.grpc.stub.StreamObserver<
            byte[]> response) -> {
          response.onNext(request);
          response.onCompleted();
        }))
        .build();
    server = LeanServerBuilder.forPort(0).flowControlWindow(WINDOW_BYTES).addService(service)
        .build().start();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @After
  public void tearDown() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    requesters.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  /**
   * Checks the sequence numbers of an upload and answers with how many messages and bytes came,
   * requesting each next message from {@link #requesters}, never from the call's own thread.
   */
  private final class OneAtATimeUpload implements ServerCallHandler<byte[], byte[]> {
    @Override
    public ServerCall.Listener<byte[]> startCall(ServerCall<byte[], byte[]> call,
        Metadata headers) {
      call.request(1);
      return new ServerCall.Listener<byte[]>() {
        int expected;
        long bytes;
        String failure;

        @Override
        public void onMessage(byte[] message) {
          int seq = ByteBuffer.wrap(message).getInt();
          if (seq != expected && failure == null) {
            failure = "message " + seq + " where " + expected + " was due";
          }
          expected++;
          bytes += message.length;
          requesters.execute(() -> call.request(1));
        }

        @Override
        public void onHalfClose() {
          if (failure != null) {
            call.close(Status.INTERNAL.withDescription(failure), new Metadata());
            return;
          }
          call.sendHeaders(new Metadata());
          call.request(1); // nothing left: request() past the end is a no-op
          call.sendMessage(ByteBuffer.allocate(12).putInt(expected).putLong(bytes).array());
          call.close(Status.OK, new Metadata());
        }
      };
    }
  }

  /** Starts an upload of {@code count} messages of {@code size} bytes (at least 4). */
  private CompletableFuture<byte[]> upload(int count, int size) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(UPLOAD, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<byte[]>() {
      byte[] response;
      int sent;

      @Override
      public void onReady() {
        // As fast as the transport is ready for them: the window holds back the rest.
        while (sent < count && call.isReady()) {
          call.sendMessage(ByteBuffer.allocate(size).putInt(sent++).array());
        }
        if (sent == count) {
          sent++;
          call.halfClose();
        }
      }

      @Override
      public void onMessage(byte[] message) {
        response = message;
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        if (status.isOk()) {
          result.complete(response);
        } else {
          result.completeExceptionally(status.asRuntimeException());
        }
      }
    }, new Metadata());
    call.request(1);
    return result;
  }

  private static void assertUploaded(byte[] response, int count, int size) {
    ByteBuffer b = ByteBuffer.wrap(response);
    assertEquals("messages", count, b.getInt());
    assertEquals("bytes", (long) count * size, b.getLong());
  }

  @Test
  public void concurrentUploadsRequestedOffTheLoopArriveOnceAndInOrder() throws Exception {
    long leases = LeanLeases.baseline();
    List<CompletableFuture<byte[]>> calls = new ArrayList<>();
    int[] sizes = {4, 100, 5000, 20_000};
    for (int i = 0; i < 16; i++) {
      calls.add(upload(300, sizes[i % sizes.length]));
    }
    for (int i = 0; i < calls.size(); i++) {
      assertUploaded(calls.get(i).get(60, TimeUnit.SECONDS), 300, sizes[i % sizes.length]);
    }
    LeanLeases.assertBackTo(leases);
  }

  @Test
  public void uploadManyWindowsLongCompletesWhenReadOffTheLoop() throws Exception {
    long leases = LeanLeases.baseline();
    int size = 16 * 1024;
    int count = 8 * 1024 * 1024 / size; // 128 windows
    assertUploaded(upload(count, size).get(60, TimeUnit.SECONDS), count, size);
    LeanLeases.assertBackTo(leases);
  }

  @Test
  public void manyConcurrentUnaryCallsEachGetTheirAnswer() throws Exception {
    long leases = LeanLeases.baseline();
    List<com.google.common.util.concurrent.ListenableFuture<byte[]>> calls = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      byte[] request = ByteBuffer.allocate(i % 2 == 0 ? 100 : 6000).putInt(i).array();
      calls.add(ClientCalls.futureUnaryCall(channel.newCall(ECHO, CallOptions.DEFAULT), request));
      if (calls.size() % 64 == 0) {
        calls.get(calls.size() - 64).get(30, TimeUnit.SECONDS);
      }
    }
    for (int i = 0; i < calls.size(); i++) {
      byte[] echoed = calls.get(i).get(30, TimeUnit.SECONDS);
      assertEquals(i, ByteBuffer.wrap(echoed).getInt());
      assertTrue(echoed.length == (i % 2 == 0 ? 100 : 6000));
    }
    LeanLeases.assertBackTo(leases);
  }
}
