package dev.grpclean.transport;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.grpclean.transport.LeanConnectionStats.Figure;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The connections of one server or one channel (every server, or channel, built from one builder):
 * {@link #snapshot()} sums their {@link ConnectionCounters}, closed connections included. Reach it
 * with {@code LeanServerBuilder.connectionStats()} or {@code LeanChannelBuilder.connectionStats()}.
 *
 * <p>A snapshot reads each open connection's counters on that connection's loop thread (the
 * counters are plain fields confined there) and waits for the answers, so call it from an
 * application or monitoring thread, not from a transport thread. A connection that closes while a
 * snapshot is being taken may be missing from that one snapshot (never counted twice).
 *
 * <p>Thread-safe.
 */
public final class ConnectionStatsGroup {
  /** How long a snapshot waits for a busy loop to answer before it leaves that connection out. */
  private static final long LOOP_ANSWER_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final Set<Http2Connection> open = ConcurrentHashMap.newKeySet();
  private final Object lock = new Object();
  /**
   * The closed connections' total; null until the first one closes. Lazy because a channel has a
   * group of its own, and an empty total is four arrays (about 0.9 KiB) per idle channel.
   */
  @GuardedBy("lock")
  private LeanConnectionStats.Builder closed;
  @GuardedBy("lock")
  private long opened;

  ConnectionStatsGroup() {}

  /** A connection was created (any thread). */
  void register(Http2Connection c) {
    synchronized (lock) {
      opened++;
    }
    open.add(c);
  }

  /** {@code c} closed: its final figures join the closed total. Its loop thread. */
  void retire(Http2Connection c) {
    if (!open.remove(c)) {
      return;
    }
    LeanConnectionStats last = c.statsNow(System.nanoTime());
    synchronized (lock) {
      if (closed == null) {
        closed = LeanConnectionStats.builder(0);
      }
      closed.addAll(last);
    }
  }

  /** The summed figures of every connection this group has seen, now. */
  public LeanConnectionStats snapshot() {
    long now = System.nanoTime();
    LeanConnectionStats.Builder sum = LeanConnectionStats.builder(now);
    long openedCount;
    synchronized (lock) {
      // Read the closed total first: a connection retiring after this is still open to the loop
      // tasks below (they skip connections already retired, so none is counted twice).
      if (closed != null) {
        sum.addAll(closed.build());
      }
      openedCount = opened;
    }
    List<CompletableFuture<LeanConnectionStats>> answers = new ArrayList<>(open.size());
    for (Http2Connection c : open) {
      CompletableFuture<LeanConnectionStats> f = new CompletableFuture<>();
      Runnable task = () -> f.complete(open.contains(c) ? c.statsNow(System.nanoTime()) : null);
      if (c.loop.inEventLoop()) {
        task.run();
      } else {
        c.loop.executeOrRunHere(task);
      }
      answers.add(f);
    }
    long deadline = System.nanoTime() + LOOP_ANSWER_TIMEOUT_NANOS;
    long live = 0;
    for (CompletableFuture<LeanConnectionStats> f : answers) {
      LeanConnectionStats s = await(f, deadline);
      if (s != null) {
        sum.addAll(s);
        live++;
      }
    }
    sum.add(Figure.CONNECTIONS_OPEN, live);
    sum.add(Figure.CONNECTIONS_OPENED, openedCount);
    return sum.build();
  }

  private static LeanConnectionStats await(CompletableFuture<LeanConnectionStats> f,
      long deadlineNanos) {
    try {
      return f.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | TimeoutException e) {
      return null;
    }
  }
}
