package dev.grpclean.transport.io;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fixed set of {@link EventLoop}s. Connections are spread across the loops round-robin; each
 * connection then stays on its loop for life.
 *
 * <p>Thread-safe.
 */
public final class EventLoopGroup {
  /**
   * Default loop count: one per core, capped at 4. Loops only read, parse and write; application
   * code runs on grpc-core's executors, so a few loops saturate the kernel's socket work.
   */
  public static final int DEFAULT_THREADS =
      Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

  private static final AtomicInteger groupIds = new AtomicInteger();

  private final EventLoop[] loops;
  private final AtomicInteger next = new AtomicInteger();

  public EventLoopGroup(int threads, String namePrefix) {
    if (threads <= 0) {
      throw new IllegalArgumentException("threads must be positive: " + threads);
    }
    int groupId = groupIds.incrementAndGet();
    loops = new EventLoop[threads];
    for (int i = 0; i < threads; i++) {
      String name = namePrefix + "-" + groupId + "-" + i;
      ThreadFactory factory = r -> {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
      };
      loops[i] = new EventLoop(factory);
    }
    for (EventLoop loop : loops) {
      loop.start();
    }
  }

  /** The loop the next new connection should live on. */
  public EventLoop next() {
    return loops[Math.floorMod(next.getAndIncrement(), loops.length)];
  }

  public int size() {
    return loops.length;
  }

  /** Stops all loops; registered channels are closed. Blocks until the threads have exited. */
  public void shutdownAndWait() {
    for (EventLoop loop : loops) {
      loop.shutdown();
    }
    boolean interrupted = false;
    for (EventLoop loop : loops) {
      if (loop.inEventLoop()) {
        continue;
      }
      try {
        loop.awaitTermination();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
