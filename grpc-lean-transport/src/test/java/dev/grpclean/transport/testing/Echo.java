package dev.grpclean.transport.testing;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@code byte[]} unary echo service, {@code test.Echo/Unary}: the smallest service a transport
 * test can serve and call. The fuzz seeds of the server connection target call it by this name.
 *
 * <p>Thread-safe.
 */
public final class Echo {
  public static final String SERVICE = "test.Echo";
  /** Answers with the request, unchanged. */
  public static final MethodDescriptor<byte[], byte[]> UNARY =
      ByteMethods.method(MethodType.UNARY, SERVICE, "Unary");
  /** Deadline of {@link #call}: generous, so a slow CI machine fails only on a real hang. */
  public static final long CALL_DEADLINE_SECONDS = 20;

  private Echo() {}

  /** The service: {@link #UNARY} returns the request unchanged. */
  public static ServerServiceDefinition service() {
    return service(() -> { });
  }

  /** One blocking echo call with a {@link #CALL_DEADLINE_SECONDS} deadline. */
  public static byte[] call(Channel channel, byte[] request) {
    return ClientCalls.blockingUnaryCall(channel, UNARY,
        CallOptions.DEFAULT.withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS), request);
  }

  /** The service, running {@code answered} after each response is sent, before it completes. */
  private static ServerServiceDefinition service(Runnable answered) {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(UNARY, ServerCalls.asyncUnaryCall((request, responses) -> {
          responses.onNext(request);
          answered.run();
          responses.onCompleted();
        }))
        .build();
  }

  /**
   * An echo service that records what the transport told the server: the attributes of the
   * latest call (the security level, the SSL session, the peer's identity) and how many calls it
   * has answered.
   *
   * <p>Thread-safe.
   */
  public static final class Recorder {
    /** The attributes of the latest call the service saw; null before the first. */
    public final AtomicReference<Attributes> lastCallAttributes = new AtomicReference<>();
    /** Calls whose response the service has sent. */
    public final AtomicInteger calls = new AtomicInteger();

    /** The echo service behind an interceptor that keeps each call's attributes. */
    public ServerServiceDefinition service() {
      ServerInterceptor keepAttributes = new ServerInterceptor() {
        @Override
        public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
            Metadata headers, ServerCallHandler<ReqT, RespT> next) {
          lastCallAttributes.set(call.getAttributes());
          return next.startCall(call, headers);
        }
      };
      return ServerInterceptors.intercept(Echo.service(calls::incrementAndGet), keepAttributes);
    }
  }
}
