package dev.grpclean.transport.testing;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Waits for a condition with a bound. Used only where no event announces the condition (a counter
 * kept by the code under test); everything else waits on latches and futures.
 *
 * <p>Thread-safe (stateless).
 */
public final class Conditions {
  /** Poll interval: short against the bounds used (seconds), long enough not to spin a core. */
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  private Conditions() {}

  /**
   * Returns once {@code condition} holds.
   *
   * @throws AssertionError with {@code description} if it does not hold within {@code timeout}
   */
  public static void await(
      BooleanSupplier condition, Duration timeout, Supplier<String> description) {
    await(condition, timeout, POLL_NANOS, description);
  }

  /**
   * Returns once {@code condition} holds, testing it every {@code pollNanos}: for a caller that
   * waits very often (once per fuzz input) and usually for less than the default interval.
   *
   * @throws AssertionError with {@code description} if it does not hold within {@code timeout}
   */
  public static void await(BooleanSupplier condition, Duration timeout, long pollNanos,
      Supplier<String> description) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("not within " + timeout + ": " + description.get());
      }
      LockSupport.parkNanos(pollNanos);
    }
  }

  /** Returns the channel's state once it satisfies {@code wanted}, driven by state callbacks. */
  public static ConnectivityState awaitState(
      ManagedChannel channel, Predicate<ConnectivityState> wanted, Duration timeout)
      throws InterruptedException {
    CompletableFuture<ConnectivityState> reached = new CompletableFuture<>();
    watch(channel, wanted, reached);
    try {
      return reached.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("channel state " + channel.getState(false) + " after " + timeout, e);
    } catch (ExecutionException e) {
      throw new AssertionError(e);
    }
  }

  private static void watch(
      ManagedChannel channel,
      Predicate<ConnectivityState> wanted,
      CompletableFuture<ConnectivityState> reached) {
    ConnectivityState state = channel.getState(false);
    if (wanted.test(state)) {
      reached.complete(state);
      return;
    }
    channel.notifyWhenStateChanged(state, () -> watch(channel, wanted, reached));
  }
}
