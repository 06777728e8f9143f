package dev.grpclean.interop;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.testing.integration.Messages.Payload;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import javax.annotation.Nullable;

/**
 * Observes one {@link SoakClient} call: counts its responses, runs a hook on each, and
 * completes {@link #closed} with its status. grpc calls the observer methods one at a time; the worker reads the fields
 * only after {@link #closed} completes, which orders those reads after every callback.
 */
final class SoakCall<ReqT, RespT> implements ClientResponseObserver<ReqT, RespT> {
  final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final BiConsumer<SoakCall<ReqT, RespT>, RespT> onResponse;
  private volatile ClientCallStreamObserver<ReqT> requests;
  /** How many responses an OK end needs, or -1 for any number. */
  private final int expectedResponses;
  int responses; // written by grpc's callbacks only
  @Nullable private volatile String problem;

  SoakCall(int expectedResponses, BiConsumer<SoakCall<ReqT, RespT>, RespT> onResponse) {
    this.expectedResponses = expectedResponses;
    this.onResponse = onResponse;
  }

  /** For cancel, which any thread may call at any time. */
  ClientCallStreamObserver<ReqT> requests() {
    return requests;
  }

  /**
   * Sends a request. The worker sends the first one, a response callback the next, maybe before
   * the worker's send has returned; the lock keeps the two from overlapping, as grpc requires.
   */
  synchronized void send(ReqT request) {
    requests.onNext(request);
  }

  synchronized void halfClose() {
    requests.onCompleted();
  }

  void bad(String what) {
    if (problem == null) {
      problem = what;
    }
  }

  void checkSize(Payload payload, int expectedSize) {
    if (payload.getBody().size() != expectedSize) {
      bad("response " + responses + " has " + payload.getBody().size() + " bytes, asked for "
          + expectedSize);
    }
  }

  /** What was wrong with the responses of a call that ended OK, or null. */
  @Nullable
  String problem() {
    return problem;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ReqT> requests) {
    this.requests = requests;
  }

  @Override
  public void onNext(RespT value) {
    responses++;
    try {
      onResponse.accept(this, value);
    } catch (RuntimeException e) {
      bad("handling response " + responses + ": " + e);
    }
  }

  @Override
  public void onError(Throwable t) {
    closed.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    if (expectedResponses >= 0 && responses != expectedResponses) {
      bad(responses + " responses, asked for " + expectedResponses);
    }
    closed.complete(Status.OK);
  }
}
