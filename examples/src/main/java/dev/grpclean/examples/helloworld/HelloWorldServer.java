package dev.grpclean.examples.helloworld;

import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.Server;
import java.util.concurrent.TimeUnit;

/**
 * Serves {@link Greeter} in plaintext until interrupted or the JVM exits.
 *
 * <p>Usage: {@code HelloWorldServer [port]} (default 50051; 0 picks a free port). Prints {@code
 * listening on PORT} once it accepts calls.
 */
public final class HelloWorldServer {
  private HelloWorldServer() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 50051;
    Server server = LeanServerBuilder.forPort(port)
        .addService(Greeter.service())
        .build()
        .start();
    System.out.println("listening on " + server.getPort());
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown));
    try {
      server.awaitTermination();
    } finally {
      server.shutdown();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
