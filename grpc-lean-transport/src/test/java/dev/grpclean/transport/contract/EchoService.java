package dev.grpclean.transport.contract;

import dev.grpclean.transport.testing.Observers;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;

/**
 * The suite's default service over {@link ContractMethods}:
 *
 * <ul>
 *   <li>unary (and {@link ContractMethods#PING}): echoes the request;
 *   <li>client streaming: checks the requests are numbered 0, 1, 2, ... and answers a {@link
 *       Payloads#summary}, or fails {@code DATA_LOSS};
 *   <li>server streaming: a {@link Payloads#streamRequest} asks for {@code count} numbered messages
 *       of {@code size} bytes, sent only while the call is ready;
 *   <li>bidi streaming: echoes each request.
 * </ul>
 *
 * <p>Thread-safe (stateless; each call keeps its own state).
 */
public final class EchoService {
  private EchoService() {}

  public static ServerServiceDefinition definition() {
    return ServerServiceDefinition.builder(ContractMethods.SERVICE)
        .addMethod(ContractMethods.UNARY, echo())
        .addMethod(ContractMethods.PING, echo())
        .addMethod(
            ContractMethods.CLIENT_STREAMING,
            ServerCalls.asyncClientStreamingCall(EchoService::collect))
        .addMethod(
            ContractMethods.SERVER_STREAMING,
            ServerCalls.asyncServerStreamingCall(EchoService::generate))
        .addMethod(
            ContractMethods.BIDI_STREAMING,
            ServerCalls.asyncBidiStreamingCall(Observers::echoingTo))
        .build();
  }

  /** A unary handler that answers the request itself. */
  public static ServerCallHandler<byte[], byte[]> echo() {
    return ServerCalls.asyncUnaryCall(
        (request, responses) -> {
          responses.onNext(request);
          responses.onCompleted();
        });
  }

  private static StreamObserver<byte[]> collect(StreamObserver<byte[]> responses) {
    return new StreamObserver<byte[]>() {
      private int messages;
      private long bytes;
      private boolean failed;

      @Override
      public void onNext(byte[] request) {
        if (failed) {
          return;
        }
        int sequence = Payloads.sequenceOf(request);
        if (sequence != messages) {
          failed = true;
          responses.onError(
              Status.DATA_LOSS
                  .withDescription("expected message " + messages + ", got " + sequence)
                  .asRuntimeException());
          return;
        }
        messages++;
        bytes += request.length;
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        if (!failed) {
          responses.onNext(Payloads.summary(messages, bytes));
          responses.onCompleted();
        }
      }
    };
  }

  private static void generate(byte[] request, StreamObserver<byte[]> observer) {
    ByteBuffer parameters = ByteBuffer.wrap(request);
    int count = parameters.getInt();
    int size = parameters.getInt();
    ServerCallStreamObserver<byte[]> responses = (ServerCallStreamObserver<byte[]>) observer;
    // Both runs happen on the call's serialising executor, so the counter needs no lock.
    Runnable drain =
        new Runnable() {
          private int sent;
          private boolean done;

          @Override
          public void run() {
            while (!done && sent < count && responses.isReady()) {
              responses.onNext(Payloads.numbered(sent++, size));
            }
            if (!done && sent == count) {
              done = true;
              responses.onCompleted();
            }
          }
        };
    responses.setOnCancelHandler(() -> {});
    responses.setOnReadyHandler(drain);
    drain.run();
  }
}
