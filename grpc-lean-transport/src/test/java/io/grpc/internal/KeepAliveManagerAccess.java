package io.grpc.internal;

import com.google.common.base.Stopwatch;
import com.google.common.base.Ticker;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Builds grpc-core's {@link KeepAliveManager} on a fake clock (its ticker constructor is
 * package-private), and its {@link KeepAliveEnforcer} likewise, so {@code ServerKeepAliveTest} can
 * compare our keepalive with them step by step.
 * Test code only.
 */
public final class KeepAliveManagerAccess {
  private KeepAliveManagerAccess() {}

  public static KeepAliveManager create(KeepAliveManager.KeepAlivePinger pinger,
      ScheduledExecutorService scheduler, Ticker ticker, long keepAliveTimeNanos,
      long keepAliveTimeoutNanos) {
    return new KeepAliveManager(pinger, scheduler, Stopwatch.createUnstarted(ticker),
        keepAliveTimeNanos, keepAliveTimeoutNanos, true);
  }

  /** grpc-core's {@link KeepAliveEnforcer} on a fake clock (its ticker type is package-private). */
  public static KeepAliveEnforcer createEnforcer(boolean permitWithoutCalls, long minTimeNanos,
      java.util.function.LongSupplier clock) {
    return new KeepAliveEnforcer(permitWithoutCalls, minTimeNanos,
        java.util.concurrent.TimeUnit.NANOSECONDS, clock::getAsLong);
  }
}
