package dev.grpclean.transport.pool;

/**
 * Snapshot of a {@link BufferPool}'s counters, for tests and the benchmark CLI.
 *
 * <p>Each field is exact when read, but the five are read one after another, so under concurrent
 * leasing they may not describe a single instant. Once the pool is quiescent they agree.
 *
 * <p>Immutable; thread-safe.
 */
public final class PoolStats {
  private static final long KIB = 1024;
  private static final long MIB = 1024 * KIB;

  private final long leasedBytes;
  private final long leasesOutstanding;
  private final long pooledBytes;
  private final long totalLeases;
  private final long allocatedBytes;

  PoolStats(
      long leasedBytes,
      long leasesOutstanding,
      long pooledBytes,
      long totalLeases,
      long allocatedBytes) {
    this.leasedBytes = leasedBytes;
    this.leasesOutstanding = leasesOutstanding;
    this.pooledBytes = pooledBytes;
    this.totalLeases = totalLeases;
    this.allocatedBytes = allocatedBytes;
  }

  /** Sum of the capacities of buffers currently leased. */
  public long leasedBytes() {
    return leasedBytes;
  }

  /** Number of buffers currently leased. */
  public long leasesOutstanding() {
    return leasesOutstanding;
  }

  /** Sum of the capacities of buffers sitting in free lists. */
  public long pooledBytes() {
    return pooledBytes;
  }

  /** Monotonic count of {@link BufferPool#lease} calls. */
  public long totalLeases() {
    return totalLeases;
  }

  /** Monotonic bytes newly allocated because no pooled buffer of the class was free. */
  public long allocatedBytes() {
    return allocatedBytes;
  }

  @Override
  public boolean equals(Object other) {
    if (!(other instanceof PoolStats)) {
      return false;
    }
    PoolStats that = (PoolStats) other;
    return leasedBytes == that.leasedBytes
        && leasesOutstanding == that.leasesOutstanding
        && pooledBytes == that.pooledBytes
        && totalLeases == that.totalLeases
        && allocatedBytes == that.allocatedBytes;
  }

  @Override
  public int hashCode() {
    long h = leasedBytes;
    h = 31 * h + leasesOutstanding;
    h = 31 * h + pooledBytes;
    h = 31 * h + totalLeases;
    h = 31 * h + allocatedBytes;
    return Long.hashCode(h);
  }

  @Override
  public String toString() {
    return "leased=" + formatBytes(leasedBytes)
        + " outstanding=" + leasesOutstanding
        + " pooled=" + formatBytes(pooledBytes)
        + " leases=" + totalLeases
        + " allocated=" + formatBytes(allocatedBytes);
  }

  /**
   * Formats a byte count exactly: {@code 65536 -> "64KiB"}, {@code 5000 -> "5000B"}. Never rounds,
   * because these figures are compared against exact invariants in logs and test failures.
   */
  static String formatBytes(long bytes) {
    if (bytes != 0 && bytes % MIB == 0) {
      return bytes / MIB + "MiB";
    }
    if (bytes != 0 && bytes % KIB == 0) {
      return bytes / KIB + "KiB";
    }
    return bytes + "B";
  }
}
