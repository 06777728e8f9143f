package dev.grpclean.interop;

import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.BindableService;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.services.MetricRecorder;
import io.grpc.testing.integration.AbstractInteropTest;
import io.grpc.testing.integration.TestServiceImpl;
import io.grpc.xds.orca.OrcaMetricReportingServerInterceptor;
import io.grpc.xds.orca.OrcaServiceImpl;
import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A running server hosting grpc-interop-testing's {@link TestServiceImpl} as grpc-java's
 * TestServiceServer hosts it: with the service's header-echo interceptors, the ORCA out-of-band
 * service and per-call ORCA reporting, and the suite's 16 MiB inbound message limit.
 *
 * <p>Thread-safe.
 */
final class TestServiceHost implements AutoCloseable {
  private final Server server;
  private final ScheduledExecutorService executor;

  private TestServiceHost(Server server, ScheduledExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Starts the service on {@code port} (0 picks a free one).
   *
   * @throws UnsupportedSecurityException if the transport refuses the credentials
   */
  static TestServiceHost start(TransportKind transport, int port, ServerCredentials creds)
      throws IOException {
    ServerBuilder<?> builder = transport.serverBuilder(port, creds);
    try {
      return start(builder);
    } catch (IllegalArgumentException | IllegalStateException e) {
      // Some builders check credentials only when the server is built.
      throw transport.unsupported("server", creds instanceof InsecureServerCredentials, e);
    }
  }

  /** Adds the service to {@code builder}, then builds and starts the server. */
  static TestServiceHost start(ServerBuilder<?> builder) throws IOException {
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    MetricRecorder metricRecorder = MetricRecorder.newInstance();
    BindableService orcaOob =
        OrcaServiceImpl.createService(executor, metricRecorder, 1, TimeUnit.SECONDS);
    try {
      Server server =
          builder
              .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE)
              .addService(
                  ServerInterceptors.intercept(
                      new TestServiceImpl(executor, metricRecorder),
                      TestServiceImpl.interceptors()))
              .addService(orcaOob)
              .intercept(OrcaMetricReportingServerInterceptor.create(metricRecorder))
              .build()
              .start();
      return new TestServiceHost(server, executor);
    } catch (IOException | RuntimeException e) {
      executor.shutdownNow();
      throw e;
    }
  }

  int port() {
    return server.getPort();
  }

  void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Shuts the server down now and waits up to 5 s; keeps the thread's interrupt status. */
  @Override
  public void close() {
    server.shutdownNow();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        System.err.println("Timed out waiting for server shutdown");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    MoreExecutors.shutdownAndAwaitTermination(executor, 5, TimeUnit.SECONDS);
  }
}
