package dev.grpclean.interop.scaleout;

import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.testing.ByteMethods;
import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One lean server of the scale-out tests, on its own loopback address: answers {@link #CALL} with
 * its index, keeps grpc's health service, counts what it sees and can be told to misbehave.
 *
 * <p>Thread-safe: counters are atomic, the behaviour is a volatile field read per call.
 */
final class Backend {
  static final String SERVICE = "grpclean.scaleout.Backend";

  /** Unary; the reply is one byte, the index of the backend that answered. */
  static final MethodDescriptor<byte[], byte[]> CALL =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Call"))
          .setRequestMarshaller(ByteMethods.MARSHALLER)
          .setResponseMarshaller(ByteMethods.MARSHALLER)
          .build();

  /** What the backend does with a call. */
  enum Behaviour {
    /** Answers at once. */
    SERVE,
    /** Fails every call with UNAVAILABLE (a retryable status). */
    FAIL_UNAVAILABLE,
    /** Answers after {@link #SLOW_REPLY_SECONDS}, unless the call is cancelled first. */
    SLOW
  }

  /** Far beyond a hedging delay, well inside a call deadline. */
  static final long SLOW_REPLY_SECONDS = 5;

  final int index;
  final HealthStatusManager health = new HealthStatusManager();
  /** Calls that reached the handler (attempts, including retries and hedges). */
  final AtomicInteger attempts = new AtomicInteger();
  /** Calls answered with a reply. */
  final AtomicInteger served = new AtomicInteger();
  /** Calls cancelled by the client before this backend answered (lost hedges). */
  final AtomicInteger cancelled = new AtomicInteger();
  /** Transports (connections) this backend accepted. */
  final AtomicInteger connections = new AtomicInteger();

  private final ScheduledExecutorService timer;
  private final Server server;
  private volatile Behaviour behaviour = Behaviour.SERVE;

  private Backend(
      int index, String host, ScheduledExecutorService timer, Consumer<LeanServerBuilder> configure) {
    this.index = index;
    this.timer = timer;
    LeanServerBuilder builder = LeanServerBuilder.forAddress(new InetSocketAddress(host, 0));
    configure.accept(builder);
    ServerServiceDefinition service =
        ServerServiceDefinition.builder(SERVICE)
            .addMethod(CALL, ServerCalls.asyncUnaryCall((request, reply) -> handle(reply)))
            .build();
    this.server =
        builder
            .addService(service)
            .addService(health.getHealthService())
            .addTransportFilter(new CountingFilter(connections))
            .build();
    health.setStatus(SERVICE, ServingStatus.SERVING);
  }

  /**
   * Starts backend {@code index} on {@code host} (a loopback address such as 127.0.0.2), port 0,
   * with its service reported SERVING; {@code configure} adds server options.
   */
  static Backend start(
      int index, String host, ScheduledExecutorService timer, Consumer<LeanServerBuilder> configure)
      throws IOException {
    Backend backend = new Backend(index, host, timer, configure);
    backend.server.start();
    return backend;
  }

  /** The address the backend listens on, as a resolver returns it. */
  EquivalentAddressGroup address() {
    return new EquivalentAddressGroup(server.getListenSockets().get(0));
  }

  void behave(Behaviour behaviour) {
    this.behaviour = behaviour;
  }

  /** Reports the service's health as the client-side health check sees it. */
  void setServing(boolean serving) {
    health.setStatus(SERVICE, serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  }

  /** Kills the server: every connection closed at once, calls in progress failed. */
  void kill() {
    server.shutdownNow();
  }

  /** Shuts down (idempotent) and waits a bounded time for termination. */
  boolean shutDownAndAwait(long seconds) throws InterruptedException {
    server.shutdownNow();
    return server.awaitTermination(seconds, TimeUnit.SECONDS);
  }

  private void handle(StreamObserver<byte[]> observer) {
    attempts.incrementAndGet();
    switch (behaviour) {
      case SERVE:
        reply(observer);
        break;
      case FAIL_UNAVAILABLE:
        observer.onError(Status.UNAVAILABLE.withDescription("backend " + index).asException());
        break;
      case SLOW:
        ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) observer;
        ScheduledFuture<?> later =
            timer.schedule(() -> reply(observer), SLOW_REPLY_SECONDS, TimeUnit.SECONDS);
        call.setOnCancelHandler(
            () -> {
              later.cancel(false);
              cancelled.incrementAndGet();
            });
        break;
    }
  }

  private void reply(StreamObserver<byte[]> observer) {
    if (((ServerCallStreamObserver<byte[]>) observer).isCancelled()) {
      return;
    }
    observer.onNext(new byte[] {(byte) index});
    observer.onCompleted();
    served.incrementAndGet();
  }

  /** Counts the transports a server accepts. */
  private static final class CountingFilter extends ServerTransportFilter {
    private final AtomicInteger count;

    CountingFilter(AtomicInteger count) {
      this.count = count;
    }

    @Override
    public Attributes transportReady(Attributes attributes) {
      count.incrementAndGet();
      return attributes;
    }
  }
}
