package dev.grpclean.transport.pool;

/**
 * Process-wide pools shared by every connection, created on first use.
 *
 * <p>Thread-safe: each pool is created by its holder class's initializer, which the JVM runs
 * exactly once.
 */
public final class Pools {
  /** System property overriding {@link #DEFAULT_IO_MAX_POOLED_BYTES}. */
  public static final String IO_MAX_POOLED_BYTES_PROPERTY = "grpclean.pool.io.maxPooledBytes";
  /** System property overriding {@link #DEFAULT_HEAP_MAX_POOLED_BYTES}. */
  public static final String HEAP_MAX_POOLED_BYTES_PROPERTY = "grpclean.pool.heap.maxPooledBytes";

  /**
   * 8 MiB. Buffers are leased only while a socket is ready, so the pool only ever holds what the
   * last burst of concurrently ready sockets left behind; this bounds that residue to about 128
   * 64-KiB read buffers, enough to keep a busy poller allocation-free without pinning direct memory
   * that a quiet process never gets back.
   */
  public static final long DEFAULT_IO_MAX_POOLED_BYTES = 8L << 20;

  /**
   * 16 MiB. Outbound message bytes live longer than a socket read (until the writer drains them)
   * and are bigger, so they get twice the I/O budget: about sixteen max-class (1 MiB) messages
   * or 256 64-KiB ones, still small next to a typical heap.
   */
  public static final long DEFAULT_HEAP_MAX_POOLED_BYTES = 16L << 20;

  private Pools() {}

  /** Direct pool for socket reads and writes. */
  public static BufferPool io() {
    return IoHolder.POOL;
  }

  /** Heap pool for outbound message bytes. */
  public static BufferPool heap() {
    return HeapHolder.POOL;
  }

  private static final class IoHolder {
    static final BufferPool POOL = new BufferPool(
        "io", true, Long.getLong(IO_MAX_POOLED_BYTES_PROPERTY, DEFAULT_IO_MAX_POOLED_BYTES));
  }

  private static final class HeapHolder {
    static final BufferPool POOL = new BufferPool(
        "heap", false, Long.getLong(HEAP_MAX_POOLED_BYTES_PROPERTY, DEFAULT_HEAP_MAX_POOLED_BYTES));
  }
}
