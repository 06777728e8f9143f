package dev.grpclean.interop;

import java.util.HashSet;
import java.util.Set;

/**
 * The interop server command: grpc's test service on the chosen transport, speaking the flags of
 * grpc-java's TestServiceServer plus {@code --transport} and {@code --security}. Prints {@code
 * Server started on port N} once it listens. Exits 2 on a bad command line and 3 when the
 * transport does not support the security mode.
 *
 * <p>Runs on the main thread; the server's threads are grpc's.
 */
public final class InteropServer {
  static final int EXIT_USAGE = 2;
  static final int EXIT_UNSUPPORTED = 3;

  private static final Set<String> FLAGS = flags();
  private static final String USAGE =
      "Usage: interop-server [--flag=value ...]\n"
          + "  --port=PORT                    port to listen on, 0 for a free one. Default 8080\n"
          + "  --transport=lean|netty|okhttp  server transport. Default lean\n"
          + SecurityOptions.USAGE;

  private InteropServer() {}

  private static Set<String> flags() {
    Set<String> flags = new HashSet<>(SecurityOptions.FLAGS);
    flags.add("port");
    flags.add("transport");
    return Set.copyOf(flags);
  }

  public static void main(String[] args) throws Exception {
    TransportKind transport;
    SecurityOptions security;
    int port;
    try {
      Flags flags = Flags.parse(args, FLAGS);
      transport = TransportKind.fromFlags(flags);
      security = SecurityOptions.fromFlags(flags);
      port = flags.integer("port", 8080);
    } catch (Flags.UsageException e) {
      e.exitWithUsage(USAGE);
      return;
    }
    TestServiceHost host;
    try {
      host =
          TestServiceHost.start(transport, port, security.mode().serverCredentials(security));
    } catch (UnsupportedSecurityException e) {
      System.out.println("UNSUPPORTED security " + security.mode() + ": " + e.getMessage());
      System.exit(EXIT_UNSUPPORTED);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(host::close, "interop-server-shutdown"));
    System.out.println("Server started on port " + host.port() + " (transport " + transport
        + ", security " + security.mode() + ")");
    host.awaitTermination();
  }
}
