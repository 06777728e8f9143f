package dev.grpclean.examples.chat;

import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.Server;
import java.util.concurrent.TimeUnit;

/**
 * Hosts one {@link ChatRoom} in plaintext until interrupted or the JVM exits.
 *
 * <p>Usage: {@code ChatServer [port]} (default 50052; 0 picks a free port). Prints {@code
 * listening on PORT} once it accepts calls.
 */
public final class ChatServer {
  private ChatServer() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 50052;
    Server server = LeanServerBuilder.forPort(port)
        .addService(new ChatRoom().service())
        .build()
        .start();
    System.out.println("listening on " + server.getPort());
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown));
    try {
      server.awaitTermination();
    } finally {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
