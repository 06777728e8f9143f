package dev.grpclean.transport;

import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.PoolStats;
import dev.grpclean.transport.pool.Pools;
import java.util.function.ToLongFunction;

/**
 * Process-wide counters of the transport's buffer pools, for tests, dashboards and the bench:
 * an idle process should show {@code leasedBytes() == 0}.
 *
 * <p>Thread-safe; every figure is exact at the moment it is read.
 */
public final class LeanTransportStats {
  private LeanTransportStats() {}

  /** Bytes currently leased from the I/O, inbound, outbound and heap pools together. */
  public static long leasedBytes() {
    return sum(BufferPool::leasedBytes);
  }

  /** Leases currently outstanding in all four pools. */
  public static long leasesOutstanding() {
    return sum(BufferPool::leasesOutstanding);
  }

  /** Bytes kept for reuse (not leased) in all four pools. */
  public static long pooledBytes() {
    return sum(BufferPool::pooledBytes);
  }

  /**
   * Bytes the pools keep for reuse: the same figure as {@link #pooledBytes()}, named for what a
   * user pays for. It follows recent demand and falls to the pools' floors (512 KiB for the I/O,
   * outbound and heap pools by default, 0 for the inbound pool) within about two decay periods
   * (4 s) once the load stops, and the outbound and heap pools' part is 0 while any
   * {@link LeanMemoryBudget} is at or above half its limit.
   */
  public static long keptBytes() {
    return pooledBytes();
  }

  /** Bytes kept and leased together: all the buffer memory the transport holds right now. */
  public static long heldBytes() {
    return leasedBytes() + pooledBytes();
  }

  /** Bytes the pools dropped for GC since start because demand fell (monotonic). */
  public static long decayedBytes() {
    return sum(BufferPool::decayedBytes);
  }

  /** The direct pool used for socket reads and writes. */
  public static PoolStats ioPool() {
    return Pools.io().stats();
  }

  /**
   * The direct pool inbound DATA waits in until grpc-core has read it: it owns at most its
   * ceiling (2 MiB by default), and frees at once what it does not keep.
   */
  public static PoolStats inboundPool() {
    return Pools.inbound().stats();
  }

  /** The direct pool used for outbound message bytes. */
  public static PoolStats outboundPool() {
    return Pools.outbound().stats();
  }

  /** The heap pool used for header blocks, partial records and transport-made bodies. */
  public static PoolStats heapPool() {
    return Pools.heap().stats();
  }

  /**
   * The process-wide memory budget from {@code -Dgrpclean.memoryBudget}, shared by every lean
   * server and channel built without their own, or null when the property is unset. Its
   * getters report the limit, bytes used, the peak, connections restricted and paused, streams
   * refused and failed, writes refused. A budget given to a builder is read the same way.
   */
  @javax.annotation.Nullable
  public static LeanMemoryBudget memoryBudget() {
    return LeanMemoryBudget.processDefault();
  }

  /** The pools, and the process-wide memory budget when one is set. */
  public static String describe() {
    LeanMemoryBudget budget = memoryBudget();
    return "io[" + ioPool() + "] inbound[" + inboundPool() + "] outbound[" + outboundPool()
        + "] heap[" + heapPool() + "]"
        + (budget == null ? "" : " " + budget);
  }

  /** {@code figure} summed over every pool ({@link Pools#all()}). */
  private static long sum(ToLongFunction<BufferPool> figure) {
    long total = 0;
    for (BufferPool pool : Pools.all()) {
      total += figure.applyAsLong(pool);
    }
    return total;
  }
}
