package dev.grpclean.examples.tls;

import dev.grpclean.examples.helloworld.Greeter;
import dev.grpclean.transport.LeanChannelBuilder;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCalls;
import java.io.File;
import java.util.concurrent.TimeUnit;

/**
 * Greets the server once over TLS, trusting the given CA, and prints the answer.
 *
 * <p>Usage: {@code TlsHelloWorldClient host:port ca.pem [authority]}: the authority, when given,
 * is the name the server's certificate is checked against instead of the host.
 */
public final class TlsHelloWorldClient {
  private TlsHelloWorldClient() {}

  public static void main(String[] args) throws Exception {
    String target = args[0];
    ChannelCredentials tls = TlsChannelCredentials.newBuilder()
        .trustManager(new File(args[1]))
        .build();
    ManagedChannelBuilder<?> builder = LeanChannelBuilder.forTarget(target, tls);
    if (args.length > 2) {
      builder.overrideAuthority(args[2]);
    }
    ManagedChannel channel = builder.build();
    try {
      String greeting = ClientCalls.blockingUnaryCall(
          channel, Greeter.SAY_HELLO,
          CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "TLS");
      System.out.println("Greeting: " + greeting);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
