package dev.grpclean.interop;

import dev.grpclean.transport.LeanServerBuilder;

/**
 * The plaintext lean server h2spec probes: grpc's test service, which answers gRPC calls and
 * answers plain HTTP/2 requests (a GET, a non-gRPC content type) with an HTTP error status. The
 * h2spec Maven plugin calls {@code main} with the port as the only argument, on a thread it
 * interrupts when done.
 *
 * <p>Blocks the calling thread until interrupted.
 */
public final class H2SpecServer {
  /**
   * SETTINGS_MAX_CONCURRENT_STREAMS we advertise. h2spec's §5.1.2 case opens one stream more than
   * advertised; at the builder's default of 2^31-1 it would flood the server, so advertise the
   * 100 that RFC 9113 §6.5.2 recommends as the smallest limit, as a production server would.
   */
  private static final int MAX_CONCURRENT_STREAMS = 100;

  private H2SpecServer() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 8080;
    try (TestServiceHost host =
        TestServiceHost.start(
            LeanServerBuilder.forPort(port)
                .maxConcurrentCallsPerConnection(MAX_CONCURRENT_STREAMS))) {
      System.out.println("h2spec lean server on port " + host.port());
      host.awaitTermination();
    } catch (InterruptedException e) {
      // The plugin is done with us; closing the host shuts the server down.
      Thread.currentThread().interrupt();
    }
  }
}
