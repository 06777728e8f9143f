package dev.grpclean.examples.helloworld;

import dev.grpclean.examples.Utf8Marshaller;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;

/**
 * The greeter service: {@code SayHello(name)} answers {@code "Hello " + name}.
 *
 * <p>Thread-safe (stateless).
 */
public final class Greeter {
  public static final MethodDescriptor<String, String> SAY_HELLO =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("helloworld.Greeter/SayHello")
          .setRequestMarshaller(Utf8Marshaller.INSTANCE)
          .setResponseMarshaller(Utf8Marshaller.INSTANCE)
          .build();

  private Greeter() {}

  /** The service as a server registers it. */
  public static ServerServiceDefinition service() {
    return ServerServiceDefinition.builder("helloworld.Greeter")
        .addMethod(SAY_HELLO, ServerCalls.asyncUnaryCall((name, reply) -> {
          reply.onNext("Hello " + name);
          reply.onCompleted();
        }))
        .build();
  }
}
