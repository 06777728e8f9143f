package dev.grpclean.transport.contract;

import io.grpc.Attributes;
import io.grpc.ServerTransportFilter;
import java.time.Duration;

/**
 * Counts the server's transports as they become ready and terminate, so a test knows how many
 * connections it used and whether one survived, without timing anything.
 *
 * <p>Thread-safe.
 */
public final class ServerTransportCounter extends ServerTransportFilter {
  private int ready; // @GuardedBy("this")
  private int terminated; // @GuardedBy("this")

  @Override
  public synchronized Attributes transportReady(Attributes attributes) {
    ready++;
    notifyAll();
    return attributes;
  }

  @Override
  public synchronized void transportTerminated(Attributes attributes) {
    terminated++;
    notifyAll();
  }

  public synchronized int ready() {
    return ready;
  }

  public synchronized int terminated() {
    return terminated;
  }

  /** Waits until at least {@code count} transports have terminated. */
  public synchronized void awaitTerminated(int count, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (terminated < count) {
      long leftMillis = Duration.ofNanos(deadline - System.nanoTime()).toMillis();
      if (leftMillis <= 0) {
        throw new AssertionError(
            "after " + timeout + ": " + terminated + " transports terminated, wanted " + count);
      }
      wait(leftMillis);
    }
  }
}
