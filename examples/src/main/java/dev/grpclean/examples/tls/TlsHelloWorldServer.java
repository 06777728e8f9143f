package dev.grpclean.examples.tls;

import dev.grpclean.examples.helloworld.Greeter;
import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.io.File;
import java.util.concurrent.TimeUnit;

/**
 * Serves {@link Greeter} over TLS until interrupted or the JVM exits.
 *
 * <p>Usage: {@code TlsHelloWorldServer port certChain.pem privateKey.pem} (port 0 picks a free
 * one). Prints {@code listening on PORT} once it accepts calls.
 */
public final class TlsHelloWorldServer {
  private TlsHelloWorldServer() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    ServerCredentials tls = TlsServerCredentials.create(new File(args[1]), new File(args[2]));
    Server server = LeanServerBuilder.forPort(port, tls)
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
