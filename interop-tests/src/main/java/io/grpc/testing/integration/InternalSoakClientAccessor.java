package io.grpc.testing.integration;

import io.grpc.ManagedChannel;
import com.google.common.base.Function;

/**
 * Reaches grpc-interop-testing's package-private {@code SoakClient}, which runs the rpc_soak and
 * channel_soak cases for grpc-java's TestServiceClient, so grpc-lean's interop client runs the
 * very same soak loop instead of a rewrite. Lives in grpc's package for that reason only.
 *
 * <p>Thread-safe (stateless).
 */
public final class InternalSoakClientAccessor {
  private InternalSoakClientAccessor() {}

  /** Runs {@code SoakClient.performSoakTest} with the same arguments; see TestServiceClient. */
  public static void performSoakTest(
      String serverUri,
      int soakIterations,
      int maxFailures,
      int maxAcceptablePerIterationLatencyMs,
      int minTimeMsBetweenRpcs,
      int overallTimeoutSeconds,
      int soakRequestSize,
      int soakResponseSize,
      int numThreads,
      ManagedChannel sharedChannel,
      Function<ManagedChannel, ManagedChannel> maybeCreateChannel)
      throws InterruptedException {
    SoakClient.performSoakTest(
        serverUri,
        soakIterations,
        maxFailures,
        maxAcceptablePerIterationLatencyMs,
        minTimeMsBetweenRpcs,
        overallTimeoutSeconds,
        soakRequestSize,
        soakResponseSize,
        numThreads,
        sharedChannel,
        maybeCreateChannel);
  }
}
