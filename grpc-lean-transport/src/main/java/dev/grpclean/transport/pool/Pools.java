package dev.grpclean.transport.pool;

import io.grpc.internal.GrpcUtil;
import io.grpc.internal.SharedResourceHolder;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Process-wide pools shared by every connection, created on first use. All decay (see
 * {@link PoolDecay}): what they keep follows recent demand, falls to its floor within two decay
 * periods (2 s each) of quiet, and never exceeds their ceilings. The floor is
 * {@link #FLOOR_BYTES_PROPERTY} (512 KiB by default) for the I/O, outbound and heap pools, and 0
 * for the inbound pool: its buffers are only worth keeping under a load that leases them anyway.
 * The delayed checks of a quiet pool run on grpc-core's shared timer, taken only
 * for the check and given back after it, so a pool at its floor holds no timer.
 *
 * <p>Thread-safe: each pool is created by its holder class's initializer, which the JVM runs
 * exactly once.
 */
public final class Pools {
  /** System property overriding {@link #DEFAULT_IO_MAX_POOLED_BYTES}. */
  public static final String IO_MAX_POOLED_BYTES_PROPERTY = "grpclean.pool.io.maxPooledBytes";
  /** System property overriding {@link #DEFAULT_HEAP_MAX_POOLED_BYTES}. */
  public static final String HEAP_MAX_POOLED_BYTES_PROPERTY = "grpclean.pool.heap.maxPooledBytes";
  /** System property overriding {@link #DEFAULT_OUTBOUND_MAX_POOLED_BYTES}. */
  public static final String OUTBOUND_MAX_POOLED_BYTES_PROPERTY =
      "grpclean.pool.outbound.maxPooledBytes";
  /** System property overriding {@link #DEFAULT_INBOUND_MAX_POOLED_BYTES}. */
  public static final String INBOUND_MAX_POOLED_BYTES_PROPERTY =
      "grpclean.pool.inbound.maxPooledBytes";
  /** System property overriding {@link PoolDecay#DEFAULT_FLOOR_BYTES} for every pool. */
  public static final String FLOOR_BYTES_PROPERTY = "grpclean.pool.floorBytes";
  /** System property overriding the decay period, {@link PoolDecay#DEFAULT_PERIOD_NANOS}. */
  public static final String DECAY_PERIOD_MILLIS_PROPERTY = "grpclean.pool.decayPeriodMillis";

  /**
   * 8 MiB. Buffers are leased only while a socket is ready, so the pool only ever holds what the
   * last burst of concurrently ready sockets left behind; this bounds that residue to about 128
   * 64-KiB read buffers, enough to keep a busy poller allocation-free without pinning direct memory
   * that a quiet process never gets back.
   */
  public static final long DEFAULT_IO_MAX_POOLED_BYTES = 8L << 20;

  /**
   * 16 MiB, a ceiling rarely approached: header blocks and partial records are small and short
   * lived, and the bodies the transport makes itself (HTTP error answers) are rare. Message bytes
   * live in the inbound and outbound pools.
   */
  public static final long DEFAULT_HEAP_MAX_POOLED_BYTES = 16L << 20;

  /**
   * 16 MiB. Outbound message bytes live longer than a socket read (until the writer has written
   * them) and are bigger, so they get twice the I/O budget: about 256 64-KiB framer buffers.
   */
  public static final long DEFAULT_OUTBOUND_MAX_POOLED_BYTES = 16L << 20;

  /**
   * 2 MiB. Inbound DATA waits in this pool's buffers until grpc-core has read it, so under load
   * its demand is the messages being assembled: four 1 MiB downloads average about 2.3 MiB and
   * swing from 0 to 6 MiB and more. The pool owns at most this much (leased or kept); leases
   * beyond it get one-off direct buffers, freed the moment grpc-core closes them, so its memory
   * follows the demand instead of keeping the peak.
   */
  public static final long DEFAULT_INBOUND_MAX_POOLED_BYTES = 2L << 20;

  private Pools() {}

  /**
   * Every pool the transport leases from, in a fixed order (I/O, inbound, outbound, heap): for
   * figures summed over all of them and checks that must see each.
   */
  public static List<BufferPool> all() {
    return List.of(io(), inbound(), outbound(), heap());
  }

  /** Direct pool for socket reads and writes. */
  public static BufferPool io() {
    return IoHolder.POOL;
  }

  /**
   * Direct pool for inbound DATA handed to grpc-core; frees the buffers it does not keep at once
   * (see {@link BufferPool}).
   */
  public static BufferPool inbound() {
    return InboundHolder.POOL;
  }

  /** Heap pool for header blocks, partial records and transport-made bodies. */
  public static BufferPool heap() {
    return HeapHolder.POOL;
  }

  /**
   * Direct pool for outbound message bytes (what grpc-core's framer writes): direct, so that a
   * plaintext connection's writer hands them to the socket in a gathering write, not a copy.
   */
  public static BufferPool outbound() {
    return OutboundHolder.POOL;
  }

  private static PoolDecay decay() {
    return decay(Long.getLong(FLOOR_BYTES_PROPERTY, PoolDecay.DEFAULT_FLOOR_BYTES));
  }

  private static PoolDecay decay(long floorBytes) {
    long periodMillis = Long.getLong(DECAY_PERIOD_MILLIS_PROPERTY,
        TimeUnit.NANOSECONDS.toMillis(PoolDecay.DEFAULT_PERIOD_NANOS));
    return PoolDecay.of(floorBytes, TimeUnit.MILLISECONDS.toNanos(periodMillis), System::nanoTime,
        Pools::scheduleOnGrpcTimer);
  }

  /** Runs {@code task} once on grpc-core's shared timer, holding the timer only until then. */
  private static void scheduleOnGrpcTimer(Runnable task, long delayNanos) {
    ScheduledExecutorService timer = SharedResourceHolder.get(GrpcUtil.TIMER_SERVICE);
    timer.schedule(() -> {
      try {
        task.run();
      } finally {
        SharedResourceHolder.release(GrpcUtil.TIMER_SERVICE, timer);
      }
    }, delayNanos, TimeUnit.NANOSECONDS);
  }

  private static final class IoHolder {
    static final BufferPool POOL = new BufferPool("io", true,
        Long.getLong(IO_MAX_POOLED_BYTES_PROPERTY, DEFAULT_IO_MAX_POOLED_BYTES),
        Boolean.getBoolean(BufferPool.LEAK_DETECTION_PROPERTY), decay());
  }

  private static final class InboundHolder {
    static final BufferPool POOL = new BufferPool("inbound", true,
        Long.getLong(INBOUND_MAX_POOLED_BYTES_PROPERTY, DEFAULT_INBOUND_MAX_POOLED_BYTES),
        Boolean.getBoolean(BufferPool.LEAK_DETECTION_PROPERTY), decay(0), true);
  }

  /**
   * Frees what it drops, like the inbound pool: a released outbound buffer is referenced by
   * nobody (the writer's batch releases only what the socket has taken), so a one-off beyond the
   * ceiling, or what the budget's suspension drops, is not left as direct memory waiting for GC.
   */
  private static final class OutboundHolder {
    static final BufferPool POOL = new BufferPool("outbound", true,
        Long.getLong(OUTBOUND_MAX_POOLED_BYTES_PROPERTY, DEFAULT_OUTBOUND_MAX_POOLED_BYTES),
        Boolean.getBoolean(BufferPool.LEAK_DETECTION_PROPERTY), decay(), true);
  }

  private static final class HeapHolder {
    static final BufferPool POOL = new BufferPool("heap", false,
        Long.getLong(HEAP_MAX_POOLED_BYTES_PROPERTY, DEFAULT_HEAP_MAX_POOLED_BYTES),
        Boolean.getBoolean(BufferPool.LEAK_DETECTION_PROPERTY), decay());
  }
}
