package dev.grpclean.transport.tls;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A byte[] unary echo service whose interceptor keeps the last call's attributes, so a test can
 * see what the transport told the server call (the SSL session).
 *
 * <p>Thread-safe.
 */
final class TlsEcho {
  static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  static final MethodDescriptor<byte[], byte[]> UNARY =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("grpclean.tls.Echo/Unary")
          .setRequestMarshaller(BYTES)
          .setResponseMarshaller(BYTES)
          .build();

  /** The attributes of the latest call the service saw. */
  final AtomicReference<Attributes> lastCallAttributes = new AtomicReference<>();
  /** Calls whose request the service has answered. */
  final AtomicInteger calls = new AtomicInteger();

  ServerServiceDefinition service() {
    ServerServiceDefinition echo = ServerServiceDefinition.builder("grpclean.tls.Echo")
        .addMethod(UNARY, ServerCalls.asyncUnaryCall((request, responses) -> {
          responses.onNext(request);
          calls.incrementAndGet();
          responses.onCompleted();
        }))
        .build();
    return ServerInterceptors.intercept(echo, new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
          Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        lastCallAttributes.set(call.getAttributes());
        return next.startCall(call, headers);
      }
    });
  }
}
