package dev.grpclean.transport.pool;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.annotation.Nullable;

/**
 * LIFO stack of free buffers of one size class, charging their capacity to a budget shared by all
 * classes of a pool.
 *
 * <p>Why an {@link ArrayDeque} under a plain monitor rather than a lock-free
 * {@code ConcurrentLinkedDeque}: the critical section is an array store and an index bump, which
 * on a 2-core machine is almost never contended, and an uncontended monitor costs about one CAS,
 * the same as a lock-free push. {@code ConcurrentLinkedDeque} also allocates a node per push, which
 * is garbage on the exact path a pool exists to keep allocation-free. The lock additionally lets
 * {@link #offer} check the head and charge the budget atomically with the push.
 *
 * <p>LIFO because the most recently released buffer is the one most likely still in cache.
 *
 * <p>Thread-safe.
 */
final class FreeList {
  private final int capacityBytes;
  /** Pool-wide bytes in all free lists; each list adds or subtracts only with its lock held. */
  private final AtomicLong pooledBytes;

  private final long maxPooledBytes;
  /** The pool's {@code suspendKeeping} holders: while positive, {@link #offer} keeps nothing. */
  private final AtomicInteger keepSuspensions;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final ArrayDeque<ByteBuffer> stack = new ArrayDeque<>();
  /**
   * The fewest buffers this list held since the last {@link #decay}: that many sat at the bottom
   * of the stack, never leased, through the whole period.
   */
  @GuardedBy("lock")
  private int lowWater;

  FreeList(int capacityBytes, AtomicLong pooledBytes, long maxPooledBytes,
      AtomicInteger keepSuspensions) {
    this.capacityBytes = capacityBytes;
    this.keepSuspensions = keepSuspensions;
    this.pooledBytes = pooledBytes;
    this.maxPooledBytes = maxPooledBytes;
  }

  /** Takes the most recently offered buffer, or returns null if the list is empty. */
  @Nullable
  ByteBuffer poll() {
    synchronized (lock) {
      ByteBuffer buffer = stack.pollFirst();
      if (buffer != null) {
        // Subtract after the pop so pooledBytes never goes negative.
        pooledBytes.addAndGet(-capacityBytes);
        lowWater = Math.min(lowWater, stack.size());
      }
      return buffer;
    }
  }

  /**
   * Takes ownership of {@code buffer} if the pool-wide budget has room and keeping is not
   * suspended, and returns whether it was kept; a buffer that is not kept is left for GC.
   *
   * @throws IllegalStateException if {@code buffer} is already on top of this list: the common
   *     "released twice in a row" bug, caught in O(1) before the buffer could be leased twice
   */
  boolean offer(ByteBuffer buffer) {
    synchronized (lock) {
      if (stack.peekFirst() == buffer) {
        throw new IllegalStateException("buffer released twice: it is already pooled");
      }
      // Read under the lock: a suspension's trim takes this lock after raising the count, so a
      // buffer pushed here before it is trimmed by it, and none is pushed after.
      if (keepSuspensions.get() > 0) {
        return false;
      }
      // Reserve before the push so pooledBytes never exceeds the cap, even transiently.
      long current;
      do {
        current = pooledBytes.get();
        if (current + capacityBytes > maxPooledBytes) {
          return false;
        }
      } while (!pooledBytes.compareAndSet(current, current + capacityBytes));
      stack.addFirst(buffer);
      return true;
    }
  }

  /** Drops every buffer in this list for GC. */
  void trim() {
    synchronized (lock) {
      pooledBytes.addAndGet(-(long) capacityBytes * stack.size());
      stack.clear();
      lowWater = 0;
    }
  }

  /**
   * Drops, oldest first, the buffers no lease reached since the last call, while the pool-wide
   * pooled bytes stay above {@code floorBytes}; then starts a new period. Returns bytes dropped.
   */
  long decay(long floorBytes) {
    synchronized (lock) {
      long dropped = 0;
      for (int idle = lowWater; idle > 0 && pooledBytes.get() - capacityBytes >= floorBytes;
          idle--) {
        stack.pollLast(); // the bottom: released longest ago
        pooledBytes.addAndGet(-capacityBytes);
        dropped += capacityBytes;
      }
      lowWater = stack.size();
      return dropped;
    }
  }
}
