package dev.grpclean.bench;

import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The service every scenario calls, identical on every transport:
 * <ul>
 *   <li>{@code Echo}: unary; answers with as many bytes as it was sent (unary, large, idle).
 *   <li>{@code Download}: server streaming; the request names the total bytes and the message
 *       size, and the server sends them as fast as flow control lets it (download, stream).
 *   <li>{@code Upload}: client streaming; answers with the total bytes received (trickle).
 * </ul>
 * Responses are shared constant arrays, so the server's own allocation is the transport's.
 *
 * <p>Thread-safe.
 */
public final class BenchService {
  public static final String NAME = "grpclean.bench.Bench";

  public static final MethodDescriptor<Blob, Blob> ECHO = method(MethodType.UNARY, "Echo");
  public static final MethodDescriptor<Blob, Blob> DOWNLOAD =
      method(MethodType.SERVER_STREAMING, "Download");
  public static final MethodDescriptor<Blob, Blob> UPLOAD =
      method(MethodType.CLIENT_STREAMING, "Upload");

  private static final ConcurrentMap<Integer, Blob> CONSTANTS = new ConcurrentHashMap<>();

  private BenchService() {}

  public static ServerServiceDefinition definition() {
    return ServerServiceDefinition.builder(NAME)
        .addMethod(ECHO, ServerCalls.asyncUnaryCall(BenchService::echo))
        .addMethod(DOWNLOAD, ServerCalls.asyncServerStreamingCall(BenchService::download))
        .addMethod(UPLOAD, ServerCalls.asyncClientStreamingCall(BenchService::upload))
        .build();
  }

  /** A shared blob of {@code length} zero bytes. */
  public static Blob constant(int length) {
    return CONSTANTS.computeIfAbsent(length, Blob::zeros);
  }

  /** The request of {@code Download}: send {@code totalBytes} in messages of {@code messageBytes}. */
  public static Blob downloadRequest(long totalBytes, int messageBytes) {
    return Blob.of(ByteBuffer.allocate(12).putLong(totalBytes).putInt(messageBytes).array());
  }

  private static void echo(Blob request, StreamObserver<Blob> out) {
    out.onNext(constant(request.length()));
    out.onCompleted();
  }

  private static void download(Blob request, StreamObserver<Blob> out) {
    ByteBuffer params = ByteBuffer.wrap(request.bytes());
    long total = params.getLong();
    Blob message = constant(params.getInt());
    ServerCallStreamObserver<Blob> call = (ServerCallStreamObserver<Blob>) out;
    // The handlers run serialized on the call's executor, so plain fields suffice.
    call.setOnCancelHandler(() -> { });
    call.setOnReadyHandler(new Runnable() {
      long remaining = total;
      boolean done;

      @Override
      public void run() {
        while (!done && remaining > 0 && call.isReady() && !call.isCancelled()) {
          call.onNext(message);
          remaining -= message.length();
        }
        if (!done && remaining <= 0 && !call.isCancelled()) {
          done = true;
          call.onCompleted();
        }
      }
    });
  }

  private static StreamObserver<Blob> upload(StreamObserver<Blob> out) {
    return new StreamObserver<>() {
      long received;

      @Override
      public void onNext(Blob value) {
        received += value.length();
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        out.onNext(Blob.of(ByteBuffer.allocate(8).putLong(received).array()));
        out.onCompleted();
      }
    };
  }

  private static MethodDescriptor<Blob, Blob> method(MethodType type, String name) {
    return MethodDescriptor.<Blob, Blob>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(NAME, name))
        .setRequestMarshaller(Blob.MARSHALLER)
        .setResponseMarshaller(Blob.MARSHALLER)
        .build();
  }
}
