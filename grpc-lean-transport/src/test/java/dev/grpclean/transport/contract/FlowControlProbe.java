package dev.grpclean.transport.contract;

import static org.junit.Assert.assertEquals;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ServerCallHandler;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A server that streams 32 MiB only while its call is ready, to a client that asks for one message
 * at a time and stops asking for a while after {@link #PAUSE_AFTER} messages. It records how far
 * the server ever got ahead of what the client had consumed: with working flow control that is
 * bounded by the windows and grpc-core's 32 KiB onReady threshold, not by the stream.
 *
 * <p>Thread-safe: the server side runs on the call's serialising executor, the client side on the
 * channel's, the test reads counters on its own thread.
 */
final class FlowControlProbe {
  static final int MESSAGE_BYTES = 32 * 1024;
  static final int MESSAGES = 32 * 1024 * 1024 / MESSAGE_BYTES;

  /** The client stops asking after this many messages, until {@link #resumeClient}. */
  static final int PAUSE_AFTER = 16;

  /**
   * How far the server may run ahead of the client: the stream and connection windows (1 MiB by
   * default in grpc-netty, 64 KiB in grpc-okhttp; netty's BDP auto-tuning caps a window at 8 MiB)
   * plus grpc-core's 32 KiB onReady threshold and a message in flight, with slack. A transport
   * without flow control gets all 32 MiB ahead. Netty to netty measured 864 KiB.
   */
  static final long MAX_AHEAD_BYTES = 10L * 1024 * 1024;

  private final AtomicInteger received = new AtomicInteger();
  private final AtomicInteger maxAheadMessages = new AtomicInteger();
  private final CountDownLatch paused = new CountDownLatch(1);
  private final CompletableFuture<Void> done = new CompletableFuture<>();
  private volatile ServerCallStreamObserver<byte[]> serverStream;
  private volatile ClientCallStreamObserver<byte[]> clientStream;

  ServerCallHandler<byte[], byte[]> serverHandler() {
    return ServerCalls.asyncServerStreamingCall(
        (request, observer) -> {
          ServerCallStreamObserver<byte[]> responses = (ServerCallStreamObserver<byte[]>) observer;
          serverStream = responses;
          Runnable drain =
              new Runnable() {
                private int sent;
                private boolean finished;

                @Override
                public void run() {
                  while (!finished && sent < MESSAGES && responses.isReady()) {
                    maxAheadMessages.accumulateAndGet(sent - received.get() + 1, Math::max);
                    responses.onNext(Payloads.numbered(sent++, MESSAGE_BYTES));
                  }
                  if (!finished && sent == MESSAGES) {
                    finished = true;
                    responses.onCompleted();
                  }
                }
              };
          responses.setOnCancelHandler(() -> {});
          responses.setOnReadyHandler(drain);
          drain.run();
        });
  }

  void startCall(Channel channel) {
    ClientCalls.asyncServerStreamingCall(
        channel.newCall(
            ContractMethods.SERVER_STREAMING,
            CallOptions.DEFAULT.withDeadlineAfter(50, TimeUnit.SECONDS)),
        new byte[0],
        new ClientResponseObserver<byte[], byte[]>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<byte[]> requestStream) {
            clientStream = requestStream;
            requestStream.disableAutoRequestWithInitial(1);
          }

          @Override
          public void onNext(byte[] message) {
            int expected = received.get();
            int sequence = Payloads.sequenceOf(message);
            if (sequence != expected) {
              done.completeExceptionally(
                  new AssertionError("expected message " + expected + ", got " + sequence));
              return;
            }
            if (received.incrementAndGet() == PAUSE_AFTER) {
              paused.countDown();
            } else {
              clientStream.request(1);
            }
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(null);
          }
        });
  }

  void awaitClientPaused(Duration timeout) throws InterruptedException {
    if (!paused.await(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
      throw new AssertionError("client received only " + received.get() + " messages");
    }
  }

  /** True while the server's call will not take more without queueing beyond its threshold. */
  boolean serverBlocked() {
    ServerCallStreamObserver<byte[]> stream = serverStream;
    return stream != null && !stream.isReady();
  }

  void resumeClient() {
    clientStream.request(1);
  }

  void awaitAllReceivedInOrder(Duration timeout) throws Exception {
    done.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    assertEquals(MESSAGES, received.get());
  }

  long maxAheadBytes() {
    return (long) maxAheadMessages.get() * MESSAGE_BYTES;
  }
}
