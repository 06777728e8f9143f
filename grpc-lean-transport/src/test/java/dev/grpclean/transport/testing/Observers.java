package dev.grpclean.transport.testing;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Response observers and call listeners for tests that watch how a call ends.
 *
 * <p>Thread-safe as far as their arguments are: grpc calls an observer one method at a time, and
 * the end is published through a future.
 */
public final class Observers {
  private Observers() {}

  /**
   * An observer that hands each response to {@code onResponse} and completes {@code end} with
   * the call's status: OK on completion, else the status of the error.
   */
  public static <T> StreamObserver<T> endingIn(CompletableFuture<Status> end,
      Consumer<? super T> onResponse) {
    return new StreamObserver<T>() {
      @Override
      public void onNext(T value) {
        onResponse.accept(value);
      }

      @Override
      public void onError(Throwable t) {
        end.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        end.complete(Status.OK);
      }
    };
  }

  /** A call listener that completes {@code closed} with the call's status and ignores the rest. */
  public static <T> ClientCall.Listener<T> closingIn(CompletableFuture<Status> closed) {
    return new ClientCall.Listener<T>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    };
  }

  /**
   * A server's request observer for a bidi echo: each request goes back as a response, the
   * client's half-close completes the responses, a client error ends the call with nothing more.
   */
  public static <T> StreamObserver<T> echoingTo(StreamObserver<T> responses) {
    return new StreamObserver<T>() {
      @Override
      public void onNext(T request) {
        responses.onNext(request);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        responses.onCompleted();
      }
    };
  }
}
