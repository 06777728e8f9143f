package dev.grpclean.transport.contract;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A bidi call of {@link ContractMethods#BIDI_STREAMING} whose first response, failure and end a
 * test can wait for.
 *
 * <p>Thread-safe: responses arrive on the channel's executor, the test reads them on its own.
 */
final class BidiProbe {
  private final CompletableFuture<byte[]> firstResponse = new CompletableFuture<>();
  private final CompletableFuture<Throwable> error = new CompletableFuture<>();
  private final CompletableFuture<Void> completed = new CompletableFuture<>();
  private final List<byte[]> responses = new ArrayList<>(); // @GuardedBy("this")
  private volatile ClientCallStreamObserver<byte[]> requests;

  private BidiProbe() {}

  static BidiProbe start(Channel channel, CallOptions options) {
    BidiProbe probe = new BidiProbe();
    ClientCalls.asyncBidiStreamingCall(
        channel.newCall(ContractMethods.BIDI_STREAMING, options),
        new ClientResponseObserver<byte[], byte[]>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<byte[]> requestStream) {
            probe.requests = requestStream;
          }

          @Override
          public void onNext(byte[] value) {
            synchronized (probe) {
              probe.responses.add(value);
            }
            probe.firstResponse.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            probe.error.complete(t);
            probe.firstResponse.completeExceptionally(t);
            probe.completed.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            probe.completed.complete(null);
          }
        });
    return probe;
  }

  /** The request side; {@code cancel} on it cancels the call. */
  ClientCallStreamObserver<byte[]> requests() {
    return requests;
  }

  CompletableFuture<byte[]> firstResponse() {
    return firstResponse;
  }

  /** Completes with the call's failure. */
  CompletableFuture<Throwable> error() {
    return error;
  }

  /** Waits for the call to succeed and checks every response it received. */
  void assertCompletedWith(Duration timeout, byte[]... expected) throws Exception {
    completed.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    synchronized (this) {
      assertEquals(expected.length, responses.size());
      for (int i = 0; i < expected.length; i++) {
        assertArrayEquals(expected[i], responses.get(i));
      }
    }
  }
}
