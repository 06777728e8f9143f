package dev.grpclean.examples.helloworld;

import dev.grpclean.transport.LeanChannelBuilder;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import java.util.concurrent.TimeUnit;

/**
 * Greets the server once and prints the answer.
 *
 * <p>Usage: {@code HelloWorldClient [name] [host:port]} (defaults: world, localhost:50051).
 */
public final class HelloWorldClient {
  private HelloWorldClient() {}

  public static void main(String[] args) throws Exception {
    String name = args.length > 0 ? args[0] : "world";
    String target = args.length > 1 ? args[1] : "localhost:50051";
    ManagedChannel channel = LeanChannelBuilder.forTarget(target)
        .usePlaintext()
        .build();
    try {
      String greeting = ClientCalls.blockingUnaryCall(
          channel, Greeter.SAY_HELLO,
          CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), name);
      System.out.println("Greeting: " + greeting);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
