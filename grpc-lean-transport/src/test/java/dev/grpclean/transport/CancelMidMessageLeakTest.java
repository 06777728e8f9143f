package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;

import dev.grpclean.transport.testing.ByteMethods;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Clients cancel server-streaming calls while the handler writes messages larger than a framer
 * buffer, at random points, on real threads: the server's writing thread can be between two
 * buffers of one message when the RST_STREAM disowns the stream's framer buffers. Every buffer the
 * server stream leased goes back to the pool. (Written while chasing two 64 KiB leases the soak
 * found at idle with framer buffers held back on the writing thread; it did not reproduce that
 * race here, which needs the stream to finish in the few microseconds between two buffers.)
 *
 * <p>Thread-compatible (JUnit runs each test on one thread; the calls run on grpc's threads).
 */
@RunWith(JUnit4.class)
public class CancelMidMessageLeakTest {
  @Rule public final Timeout timeout = Timeout.seconds(120);

  private static final int CALLS = 100;
  /**
   * A message spanning three 64 KiB framer buffers: the first is delivered with the message
   * started in it and may be held back for the next write; the stream can finish while the
   * framer fills the second.
   */
  private static final int MESSAGE_BYTES = 128 * 1024;
  /** Enough that the handler is still writing when the client's RST_STREAM arrives. */
  private static final int MESSAGES = 40;
  private static final MethodDescriptor<byte[], byte[]> DOWNLOAD =
      ByteMethods.method(MethodType.SERVER_STREAMING, "test.Leak", "Download");

  private Server server;
  private ManagedChannel channel;

  @Before
  public void setUp() throws Exception {
    ServerServiceDefinition service = ServerServiceDefinition.builder("test.Leak")
        .addMethod(DOWNLOAD, ServerCalls.asyncServerStreamingCall(
            (byte[] request, StreamObserver<byte[]> responses) -> {
              try {
                for (int i = 0; i < MESSAGES; i++) {
                  responses.onNext(new byte[MESSAGE_BYTES]);
                }
                responses.onCompleted();
              } catch (RuntimeException cancelled) {
                // grpc-core refuses writes once the call is cancelled: the handler just stops.
              }
            }))
        .build();
    server = LeanServerBuilder.forPort(0).addService(service).build().start();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @After
  public void tearDown() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  public void cancellingBetweenTheBuffersOfAMessageLeasesNothingAfterwards() throws Exception {
    AtomicInteger ended = new AtomicInteger();
    for (int i = 0; i < CALLS; i++) {
      ClientCall<byte[], byte[]> call = channel.newCall(DOWNLOAD, CallOptions.DEFAULT);
      CountDownLatch closed = new CountDownLatch(1);
      int cancelAfter = ThreadLocalRandom.current().nextInt(3);
      call.start(new ClientCall.Listener<byte[]>() {
        int received;

        @Override
        public void onMessage(byte[] message) {
          if (++received > cancelAfter) {
            call.cancel("cancelled mid-stream by the test", null);
          } else {
            call.request(1);
          }
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          ended.incrementAndGet();
          closed.countDown();
        }
      }, new Metadata());
      call.sendMessage(new byte[] {1});
      call.halfClose();
      call.request(1);
      closed.await(20, TimeUnit.SECONDS);
    }
    assertEquals(CALLS, ended.get());
    LeanLeases.assertNoneLeased();
  }
}
