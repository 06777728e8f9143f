package dev.grpclean.transport.io;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What one poller thread did since it started: time waiting for readiness or tasks (inside a
 * blocking {@code select}), tasks run, channels owned. Busy time is the rest of its life. Off,
 * with every connection's counters, under {@code -Dgrpclean.connectionCounters=false}.
 *
 * <p>Cost: two {@link System#nanoTime} reads per blocking {@code select} and an ordered store per
 * task; nothing is allocated.
 *
 * <p>Written by the loop thread only (ordered stores); read from any thread.
 */
public final class LoopStats {
  /** Whether loops count at all (the same switch as the connections' counters). */
  static final boolean ENABLED =
      !"false".equalsIgnoreCase(System.getProperty("grpclean.connectionCounters", "true"));

  private final long startedAtNanos = System.nanoTime();
  private final AtomicLong waitNanos = new AtomicLong();
  /** When the current wait began; 0 while busy. */
  private final AtomicLong waitingSinceNanos = new AtomicLong();
  private final AtomicLong tasksRun = new AtomicLong();
  private final AtomicLong waits = new AtomicLong();
  private final AtomicLong yieldsBeforeFlush = new AtomicLong();
  private final AtomicLong fruitfulYields = new AtomicLong();
  /** Bumped by producer threads (the wake-up is theirs), hence an atomic add, not a lazySet. */
  private final AtomicLong wakeups = new AtomicLong();
  private final AtomicLong channelsOwned = new AtomicLong();

  LoopStats() {}

  void waitStarted() {
    if (ENABLED) {
      waits.lazySet(waits.get() + 1);
      long now = System.nanoTime();
      waitingSinceNanos.lazySet(now == 0 ? 1 : now);
    }
  }

  /** The loop yielded before flushing; {@code tasksArrived}: others queued tasks meanwhile. */
  void yieldedBeforeFlush(boolean tasksArrived) {
    if (ENABLED) {
      yieldsBeforeFlush.lazySet(yieldsBeforeFlush.get() + 1);
      if (tasksArrived) {
        fruitfulYields.lazySet(fruitfulYields.get() + 1);
      }
    }
  }

  /** Times the loop yielded its thread before its end-of-batch flushes. */
  public long yieldsBeforeFlush() {
    return yieldsBeforeFlush.get();
  }

  /** Of those, the yields after which other threads' tasks had arrived (and joined the batch). */
  public long fruitfulYields() {
    return fruitfulYields.get();
  }

  /** A producer thread woke the loop out of a blocking {@code select}. */
  void wokenUp() {
    if (ENABLED) {
      wakeups.getAndIncrement();
    }
  }

  void waitEnded(int channels) {
    if (ENABLED) {
      long since = waitingSinceNanos.get();
      waitNanos.lazySet(waitNanos.get() + System.nanoTime() - since);
      waitingSinceNanos.lazySet(0);
      channelsOwned.lazySet(channels);
    }
  }

  void taskRun() {
    if (ENABLED) {
      tasksRun.lazySet(tasksRun.get() + 1);
    }
  }

  /** Time waiting up to {@code nowNanos}, a wait in progress included. */
  public long waitNanos(long nowNanos) {
    long since = waitingSinceNanos.get();
    long done = waitNanos.get();
    return since == 0 ? done : done + Math.max(0, nowNanos - since);
  }

  /** Time not waiting up to {@code nowNanos} (0 when loops do not count). */
  public long busyNanos(long nowNanos) {
    return ENABLED ? Math.max(0, nowNanos - startedAtNanos - waitNanos(nowNanos)) : 0;
  }

  public long tasksRun() {
    return tasksRun.get();
  }

  /** Blocking {@code select} calls: the times the loop found nothing to do and slept. */
  public long waits() {
    return waits.get();
  }

  /**
   * Wake-ups other threads paid for (one {@code Selector.wakeup}, an eventfd write and the loop's
   * read of it, each): tasks handed over while the loop slept.
   */
  public long wakeups() {
    return wakeups.get();
  }

  /** Channels registered with the loop's selector at its last wait. */
  public long channelsOwned() {
    return channelsOwned.get();
  }
}
