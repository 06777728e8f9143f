package dev.grpclean.alts;

import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the ALTS-like transport tests add to the shared {@link Echo} fixture: an echo server with
 * these credentials, the shutdown that checks every lease came back, and fresh identities.
 *
 * <p>Thread-safe (stateless).
 */
final class EchoFixture {
  private EchoFixture() {}

  /**
   * Starts a lean server on an ephemeral port serving {@code recorder}'s echo service with a
   * 16 MiB inbound limit; the recorder keeps every call's attributes.
   */
  static Server startEchoServer(AltsLikeServerCredentials creds, Echo.Recorder recorder)
      throws IOException {
    return LeanServerBuilder.forPort(0, creds)
        .maxInboundMessageSize(16 << 20)
        .addService(recorder.service())
        .build().start();
  }

  /** Shuts down the channels, then the server, and asserts every leased byte came back. */
  static void shutDownAndAssertLeasesReturned(List<ManagedChannel> channels, Server server)
      throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    LeanLeases.assertNoneLeased();
  }

  static AltsLikeIdentity generate() {
    try {
      return AltsLikeIdentity.generate();
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }
}
