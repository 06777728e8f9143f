package dev.grpclean.transport.contract;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.ServerBuilder;

/**
 * Plaintext builders for our own transport, as the contract suite's pairings use it.
 *
 * <p>Thread-safe (stateless).
 */
final class LeanBuilders {
  private LeanBuilders() {}

  static LeanServerBuilder server(int port) {
    return LeanServerBuilder.forPort(port);
  }

  static LeanChannelBuilder channel(int port) {
    return LeanChannelBuilder.forAddress("localhost", port).usePlaintext();
  }

  /** Sets the lean server's limit on concurrent calls per connection. */
  static void maxConcurrentCalls(ServerBuilder<?> builder, int calls) {
    ((LeanServerBuilder) builder).maxConcurrentCallsPerConnection(calls);
  }
}
