package dev.grpclean.transport;

import com.google.common.base.Ticker;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.PriorityQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A timer service whose time moves only when a test calls {@link #advance}, for a real server
 * ({@link LeanServerBuilder#timerForTests}): the due tasks run on the advancing thread, in order
 * of their instants. Unlike {@link ServerKeepAliveTest.FakeScheduler}, the server's loop
 * schedules and cancels while the test advances.
 *
 * <p>Thread-safe: the queue and the clock under this object's monitor; tasks run without it.
 */
final class SteppedTimer extends FakeTimerService {
  @GuardedBy("this")
  private long now;
  @GuardedBy("this")
  private long order;
  @GuardedBy("this")
  private final PriorityQueue<Task> queue = new PriorityQueue<>();

  /** The clock the transports read. */
  final Ticker ticker = new Ticker() {
    @Override
    public long read() {
      return now();
    }
  };

  synchronized long now() {
    return now;
  }

  /** Moves the clock on by {@code nanos}, running each task that falls due at its instant. */
  void advance(long nanos, TimeUnit unit) {
    long until;
    synchronized (this) {
      until = now + unit.toNanos(nanos);
    }
    while (true) {
      Task due;
      synchronized (this) {
        due = queue.peek();
        if (due == null || due.due > until) {
          now = until;
          return;
        }
        queue.poll();
        now = Math.max(now, due.due);
        if (!due.start()) {
          continue;
        }
      }
      due.run();
    }
  }

  /** Tasks scheduled and neither run nor cancelled. */
  synchronized int pending() {
    int n = 0;
    for (Task t : queue) {
      if (!t.isDone()) {
        n++;
      }
    }
    return n;
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return add(() -> {
      command.run();
      return null;
    }, unit.toNanos(delay));
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    @SuppressWarnings("unchecked")
    ScheduledFuture<V> f = (ScheduledFuture<V>) add(callable, unit.toNanos(delay));
    return f;
  }

  private synchronized Task add(Callable<?> callable, long delayNanos) {
    Task t = new Task(callable, now + Math.max(0, delayNanos), order++);
    queue.add(t);
    notifyAll();
    return t;
  }

  /**
   * Waits until a task is pending for the instant {@code dueNanos} (another thread schedules it),
   * failing after {@code waitMillis} of real time.
   */
  synchronized void awaitTaskDueAt(long dueNanos, long waitMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
    while (true) {
      for (Task t : queue) {
        if (t.due == dueNanos && !t.isDone()) {
          return;
        }
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError("no task due at " + dueNanos + " ns; now " + now);
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  /** Not a timer's job: a caller would wait for the next {@link #advance} without knowing it. */
  @Override
  public void execute(Runnable command) {
    throw new UnsupportedOperationException("execute on a stepped timer");
  }

  /** One scheduled task. Thread-safe: its state under its own monitor. */
  private static final class Task implements ScheduledFuture<Object> {
    private final Callable<?> callable;
    private final long due;
    private final long order;
    @GuardedBy("this")
    private boolean cancelled;
    @GuardedBy("this")
    private boolean started;

    Task(Callable<?> callable, long due, long order) {
      this.callable = callable;
      this.due = due;
      this.order = order;
    }

    /** Whether the task is to run (it was not cancelled); after this it cannot be. */
    synchronized boolean start() {
      if (cancelled) {
        return false;
      }
      started = true;
      return true;
    }

    void run() {
      try {
        callable.call();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public int compareTo(Delayed o) {
      Task t = (Task) o;
      return due != t.due ? Long.compare(due, t.due) : Long.compare(order, t.order);
    }

    @Override
    public synchronized boolean cancel(boolean mayInterrupt) {
      if (started || cancelled) {
        return false;
      }
      cancelled = true;
      return true;
    }

    @Override
    public synchronized boolean isCancelled() {
      return cancelled;
    }

    @Override
    public synchronized boolean isDone() {
      return started || cancelled;
    }

    @Override
    public Object get() {
      throw new UnsupportedOperationException();
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      throw new UnsupportedOperationException();
    }
  }
}
