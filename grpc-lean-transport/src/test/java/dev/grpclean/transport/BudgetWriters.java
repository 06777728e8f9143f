package dev.grpclean.transport;

import io.grpc.ServerCallHandler;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The two server-streaming writers the memory-budget tests load a server with: one that honours
 * {@code isReady()} and one that ignores it. Each counts itself into {@code settled} once it has
 * stopped (no longer ready, cancelled, failed or finished). Thread-safe: handlers run on grpc's
 * executor threads.
 */
final class BudgetWriters {
  private BudgetWriters() {}

  /** Writes {@code messages} messages of {@code messageBytes}, only while the call is ready. */
  static ServerCallHandler<byte[], byte[]> polite(
      AtomicInteger settled, int messages, int messageBytes) {
    return ServerCalls.asyncServerStreamingCall((req, observer) -> {
      ServerCallStreamObserver<byte[]> obs = (ServerCallStreamObserver<byte[]>) observer;
      AtomicBoolean done = new AtomicBoolean();
      AtomicInteger sent = new AtomicInteger();
      obs.setOnCancelHandler(() -> {
        if (done.compareAndSet(false, true)) {
          settled.incrementAndGet();
        }
      });
      obs.setOnReadyHandler(() -> {
        while (obs.isReady() && sent.get() < messages) {
          sent.incrementAndGet();
          obs.onNext(new byte[messageBytes]);
        }
        if (!obs.isReady() && done.compareAndSet(false, true)) {
          settled.incrementAndGet();
        }
      });
    });
  }

  /** Writes {@code messages} messages of {@code messageBytes} whatever the transport says. */
  static ServerCallHandler<byte[], byte[]> careless(
      AtomicInteger settled, int messages, int messageBytes) {
    return ServerCalls.asyncServerStreamingCall((req, observer) -> {
      try {
        for (int i = 0; i < messages; i++) {
          observer.onNext(new byte[messageBytes]);
        }
      } catch (RuntimeException cancelled) {
        // The budget failed the call; grpc-core reports it on the next write.
      } finally {
        settled.incrementAndGet();
      }
    });
  }
}
