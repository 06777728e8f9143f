package dev.grpclean.transport.pool;

import java.util.Objects;
import java.util.function.LongSupplier;
import javax.annotation.Nullable;

/**
 * How a {@link BufferPool} gives memory back: what it keeps follows recent demand.
 *
 * <p>Every {@code periodNanos} the pool drops, oldest first, the buffers that stayed in a free
 * list through the whole last period (each list's low-water mark: demand never reached them),
 * but never below {@code floorBytes}. A steady load therefore keeps what it re-leases each
 * period, and once the load stops everything above the floor is gone within two periods: the
 * first check may still see buffers leased during the load's last moments, the second cannot.
 *
 * <p>Checks run on the pool's own lease and release calls, so a busy pool needs no timer at
 * all. A pool that falls quiet with bytes above its floor asks {@code scheduler} for one
 * delayed check at a time (none while it is at its floor, so an idle process has no pending
 * task): no thread of its own, per pool or otherwise.
 *
 * <p>Immutable; thread-safe.
 */
public final class PoolDecay {
  /** Runs a task once after a delay; the transport passes grpc-core's shared timer. */
  public interface Scheduler {
    /** Runs {@code task} once, about {@code delayNanos} from now, on some other thread. */
    void schedule(Runnable task, long delayNanos);
  }

  /** Bytes each process-wide pool keeps even when quiet: a few read buffers for the next burst. */
  public static final long DEFAULT_FLOOR_BYTES = 512 * 1024;
  /**
   * 2 s: long enough that a load with pauses of a second keeps its buffers, short enough that a
   * quiet process is back at its floors within 4 s (and the issue asks for 10).
   */
  public static final long DEFAULT_PERIOD_NANOS = 2_000_000_000L;

  final long floorBytes;
  final long periodNanos;
  final LongSupplier nanoClock;
  @Nullable final Scheduler scheduler;

  private PoolDecay(long floorBytes, long periodNanos, LongSupplier nanoClock,
      @Nullable Scheduler scheduler) {
    if (floorBytes < 0) {
      throw new IllegalArgumentException("floorBytes < 0: " + floorBytes);
    }
    if (periodNanos <= 0) {
      throw new IllegalArgumentException("periodNanos <= 0: " + periodNanos);
    }
    this.floorBytes = floorBytes;
    this.periodNanos = periodNanos;
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    this.scheduler = scheduler;
  }

  /**
   * @param nanoClock {@link System#nanoTime} in production, a fake clock in tests
   * @param scheduler null: decay is checked only on lease and release (tests call
   *     {@link BufferPool#decayIfDue()} after advancing the clock)
   */
  public static PoolDecay of(long floorBytes, long periodNanos, LongSupplier nanoClock,
      @Nullable Scheduler scheduler) {
    return new PoolDecay(floorBytes, periodNanos, nanoClock, scheduler);
  }

  public long floorBytes() {
    return floorBytes;
  }

  public long periodNanos() {
    return periodNanos;
  }
}
