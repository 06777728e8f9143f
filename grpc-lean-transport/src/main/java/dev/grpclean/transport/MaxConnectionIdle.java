package dev.grpclean.transport;

import java.util.concurrent.Callable;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.annotation.Nullable;

/**
 * A server connection's max-connection-idle timer ({@link LeanServerBuilder#maxConnectionIdle}):
 * once no stream has been open for that long, counted from the start or from the end of the last
 * stream, the connection is shut down gracefully ({@link Owner#onMaxConnectionIdle}). The same
 * instants as grpc-core's {@code MaxConnectionIdleManager} (MaxConnectionIdleTest compares them
 * step by step on a fake clock).
 *
 * <p>Why not grpc-core's manager: its task runs on the timer thread and reads and writes the
 * fields the transport's thread writes in {@code onTransportActive/Idle}, without a lock; that is
 * correct in grpc-netty, whose timer is the connection's own event loop, but not here, where the
 * timer is the shared timer service. Here the timer thread only hands the check to the loop
 * ({@link #call}), so every field is the loop's.
 *
 * <p>At most one timer task is pending: one is scheduled at the start, and again only when the
 * last stream ends while none is pending (a task that fires while a stream is open schedules
 * nothing). A pending task that fires early (a stream came and went since it was scheduled)
 * schedules itself for the remaining time. Per connection: this object and the pending task.
 *
 * <p>Confined to the connection's loop thread, but {@link #call}, which the timer thread runs.
 */
final class MaxConnectionIdle implements Callable<Void>, Runnable {
  /** The transport the timer serves: its clock, timer and loop, and what it does at the end. */
  interface Owner {
    ScheduledExecutorService maxIdleScheduler();

    /** The clock, {@link System#nanoTime} but in tests. */
    long nanoTime();

    /** Runs {@code check} on the connection's loop thread (dropped once the loop stopped). */
    void executeOnLoop(Runnable check);

    /** Loop thread: no stream has been open for max-connection-idle; shut down gracefully. */
    void onMaxConnectionIdle();
  }

  private final Owner owner;
  private final long maxIdleNanos;
  /** {@link Owner#nanoTime} when the last stream ended, or at the start. */
  private long idleSinceNanos;
  private boolean streamsOpen;
  /** Stopped (transport terminated, the idle shutdown done, or the timer service shut down). */
  private boolean stopped;
  @Nullable private ScheduledFuture<?> pending;

  MaxConnectionIdle(Owner owner, long maxIdleNanos) {
    this.owner = owner;
    this.maxIdleNanos = maxIdleNanos;
  }

  /** The transport started: the connection is idle from now. */
  void start() {
    idleSinceNanos = owner.nanoTime();
    schedule(maxIdleNanos);
  }

  /** The first stream opened. */
  void onStreamsOpen() {
    streamsOpen = true;
  }

  /** The last stream ended: idle from now. */
  void onStreamsIdle() {
    streamsOpen = false;
    idleSinceNanos = owner.nanoTime();
    if (pending == null && !stopped) {
      schedule(maxIdleNanos);
    }
  }

  /** The transport terminated. */
  void stop() {
    stopped = true;
    if (pending != null) {
      pending.cancel(false);
      pending = null;
    }
  }

  /** Timer thread: the pending task is due; the check runs on the loop ({@link #run}). */
  @Override
  public Void call() {
    owner.executeOnLoop(this);
    return null;
  }

  /** Loop thread: the pending task fired. */
  @Override
  public void run() {
    if (stopped) {
      return; // cancelled while it was already starting, or the loop ran it after stop()
    }
    pending = null;
    if (streamsOpen) {
      return; // onStreamsIdle schedules the next
    }
    long remainingNanos = idleSinceNanos + maxIdleNanos - owner.nanoTime();
    if (remainingNanos > 0) {
      schedule(remainingNanos);
      return;
    }
    stopped = true;
    owner.onMaxConnectionIdle();
  }

  private void schedule(long delayNanos) {
    try {
      pending = owner.maxIdleScheduler().schedule((Callable<Void>) this, delayNanos,
          TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // The timer service was shut down with the server: the connection goes with it.
      stopped = true;
    }
  }

  /** Whether a timer task is pending (tests). */
  boolean pending() {
    return pending != null;
  }
}
