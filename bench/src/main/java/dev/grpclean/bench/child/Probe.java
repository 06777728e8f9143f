package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import dev.grpclean.bench.Transport;
import dev.grpclean.transport.LeanTransportStats;
import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
import io.grpc.netty.shaded.io.netty.buffer.ByteBufAllocator;
import io.grpc.netty.shaded.io.netty.buffer.ByteBufAllocatorMetric;
import io.grpc.netty.shaded.io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.grpc.netty.shaded.io.netty.buffer.PoolArenaMetric;
import io.grpc.netty.shaded.io.netty.buffer.PoolChunkListMetric;
import io.grpc.netty.shaded.io.netty.buffer.PoolChunkMetric;
import io.grpc.netty.shaded.io.netty.buffer.PooledByteBufAllocatorMetric;
import io.grpc.netty.shaded.io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.ref.Cleaner;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Reads this JVM's memory figures: heap used (optionally after forced GC), direct buffers, RSS,
 * threads, and each transport's own pool counters. Reading a transport's counters never
 * initialises another transport's classes, so a lean JVM holds no Netty allocator.
 *
 * <p>Thread-safe.
 */
public final class Probe {
  /** How long to let reference processing and Cleaners run after each forced GC. */
  private static final long SETTLE_AFTER_GC_MILLIS = 100;
  /** Two collections in a row that agree within this have nothing more to free. */
  private static final long SETTLED_BYTES = 16 * 1024;
  private static final int MAX_GC_ROUNDS = 6;
  private static final Cleaner SENTINEL_CLEANER = Cleaner.create();

  private final Transport transport;

  public Probe(Transport transport) {
    this.transport = transport;
  }

  /** A snapshot of every figure; with {@code gc}, heap used is measured after two full GCs. */
  public JsonObject snapshot(boolean gc) throws InterruptedException {
    return snapshot(gc, true);
  }

  /**
   * As {@link #snapshot(boolean)}; without {@code heapRss} the heap/native split of RSS is left
   * out. That split reads all of /proc/self/smaps and asks for the heap's range through a
   * diagnostic command, a few hundred KiB of garbage each time: {@link PeakSampler}, which
   * samples every 50 ms in the JVM it measures and keeps no peak of the split, leaves it out so
   * its own garbage (about 6 MiB/s otherwise) does not grow the heap it is measuring.
   */
  JsonObject snapshot(boolean gc, boolean heapRss) throws InterruptedException {
    if (gc) {
      forceGc();
    }
    JsonObject s = new JsonObject();
    s.addProperty("heapUsed", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    s.addProperty("nonHeapUsed",
        ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage().getUsed());
    BufferPoolMXBean direct = directPool();
    s.addProperty("directUsed", direct == null ? 0 : direct.getMemoryUsed());
    s.addProperty("directBuffers", direct == null ? 0 : direct.getCount());
    long rss = rssBytes();
    s.addProperty("rss", rss);
    long heapResident = heapRss ? heapRssBytes() : -1;
    if (rss >= 0 && heapResident >= 0) {
      s.addProperty("heapRss", heapResident);
      s.addProperty("nativeRss", rss - heapResident);
    }
    s.addProperty("threads", ManagementFactory.getThreadMXBean().getThreadCount());
    if (transport.isLean()) {
      s.addProperty("leanLeasedBytes", LeanTransportStats.leasedBytes());
      s.addProperty("leanLeasesOutstanding", LeanTransportStats.leasesOutstanding());
      s.addProperty("leanPooledBytes", LeanTransportStats.pooledBytes());
      s.addProperty("leanHeapPooledBytes", LeanTransportStats.heapPool().pooledBytes());
    } else if (transport == Transport.NETTY) {
      addNettyFigures(s);
    }
    return s;
  }

  /**
   * What the transport's buffer pool holds right now, as {in use, held}: lean's leased bytes and
   * its leased plus kept bytes; Netty's arena bytes handed out (to buffers or thread caches) and
   * its arenas' chunk bytes; null without a pool (okhttp). Cheap enough for a 100 ms timer.
   */
  long[] poolBytes() {
    if (transport.isLean()) {
      long leased = LeanTransportStats.leasedBytes();
      return new long[] {leased, leased + LeanTransportStats.pooledBytes()};
    }
    if (transport == Transport.NETTY) {
      ByteBufAllocator allocator = grpcNettyAllocator();
      if (allocator instanceof ByteBufAllocatorMetricProvider) {
        ByteBufAllocatorMetric metric = ((ByteBufAllocatorMetricProvider) allocator).metric();
        long held = metric.usedDirectMemory() + metric.usedHeapMemory();
        if (metric instanceof PooledByteBufAllocatorMetric) {
          PooledByteBufAllocatorMetric pooled = (PooledByteBufAllocatorMetric) metric;
          return new long[] {
              usedBytes(pooled.directArenas()) + usedBytes(pooled.heapArenas()), held};
        }
      }
    }
    return null;
  }

  /** Lean's pools in the order {@link #addPoolBytes} adds them. */
  static final String[] POOL_NAMES = {"io", "inbound", "outbound", "heap"};

  /**
   * Lean only: adds each pool's leased bytes to {@code leased} and kept bytes to {@code kept}, in
   * {@link #POOL_NAMES} order, and returns true; other transports: adds nothing, returns false.
   */
  boolean addPoolBytes(double[] leased, double[] kept) {
    if (!transport.isLean()) {
      return false;
    }
    add(0, Pools.io(), leased, kept);
    add(1, Pools.inbound(), leased, kept);
    add(2, Pools.outbound(), leased, kept);
    add(3, Pools.heap(), leased, kept);
    return true;
  }

  private static void add(int i, BufferPool pool, double[] leased, double[] kept) {
    leased[i] += pool.leasedBytes();
    kept[i] += pool.pooledBytes();
  }

  /** Heap used plus direct memory, without GC: the "in-use" figure sampled during a download. */
  public long inUseBytes() {
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() + directBytes();
  }

  /** Direct memory in use: the JDK's direct buffers, and for Netty its cleaner-less ones too. */
  public long directBytes() {
    long used = 0;
    BufferPoolMXBean direct = directPool();
    if (direct != null) {
      used += direct.getMemoryUsed();
    }
    if (transport == Transport.NETTY) {
      // Direct memory Netty allocates without a Cleaner is invisible to the MXBean.
      used += Math.max(0, PlatformDependent.usedDirectMemory());
    }
    return used;
  }

  /**
   * Collects until the heap in use settles: each round is a full GC, then a wait until a sentinel
   * registered with a Cleaner has been cleaned (reference processing ran past it, up to 2 s) and
   * {@link #SETTLE_AFTER_GC_MILLIS} for the JDK's own Cleaner thread; it stops once two rounds in
   * a row agree within {@link #SETTLED_BYTES}, after at most {@link #MAX_GC_ROUNDS}. Two fixed
   * rounds were not enough on a loaded machine: objects released by reference processing (a
   * closed warm-up channel's sockets and buffers) that had not run yet survived the baseline's
   * collections and were collected before the next snapshot, so 24 idle connections measured
   * -1.2 MiB of heap.
   */
  public static void forceGc() throws InterruptedException {
    long previous = -1;
    for (int round = 0; round < MAX_GC_ROUNDS; round++) {
      CountDownLatch cleaned = new CountDownLatch(1);
      SENTINEL_CLEANER.register(new Object(), cleaned::countDown);
      System.gc();
      cleaned.await(2, TimeUnit.SECONDS);
      Thread.sleep(SETTLE_AFTER_GC_MILLIS);
      System.gc();
      long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      if (previous >= 0 && Math.abs(used - previous) <= SETTLED_BYTES) {
        return;
      }
      previous = used;
    }
  }

  private static void addNettyFigures(JsonObject s) {
    s.addProperty("nettyNoCleanerDirect", Math.max(0, PlatformDependent.usedDirectMemory()));
    ByteBufAllocator allocator = grpcNettyAllocator();
    if (allocator instanceof ByteBufAllocatorMetricProvider) {
      ByteBufAllocatorMetric metric = ((ByteBufAllocatorMetricProvider) allocator).metric();
      s.addProperty("nettyPoolDirect", metric.usedDirectMemory());
      s.addProperty("nettyPoolHeap", metric.usedHeapMemory());
      if (metric instanceof PooledByteBufAllocatorMetric) {
        PooledByteBufAllocatorMetric pooled = (PooledByteBufAllocatorMetric) metric;
        s.addProperty("nettyPoolUsedBytes",
            usedBytes(pooled.directArenas()) + usedBytes(pooled.heapArenas()));
      }
    }
  }

  /**
   * Bytes of the arenas' chunks handed out (to live buffers or to thread caches). Netty's own
   * {@code numActiveBytes} counts whole chunks, so it cannot tell one pinned buffer from none.
   */
  private static long usedBytes(List<PoolArenaMetric> arenas) {
    long sum = 0;
    for (PoolArenaMetric arena : arenas) {
      for (PoolChunkListMetric list : arena.chunkLists()) {
        for (PoolChunkMetric chunk : list) {
          sum += chunk.chunkSize() - chunk.freeBytes();
        }
      }
    }
    return sum;
  }

  /** The allocator grpc-netty really uses (its own pooled one, not Netty's DEFAULT). */
  private static ByteBufAllocator grpcNettyAllocator() {
    try {
      Class<?> utils = Class.forName("io.grpc.netty.shaded.io.grpc.netty.Utils");
      Method get = utils.getDeclaredMethod("getByteBufAllocator", boolean.class);
      get.setAccessible(true);
      return (ByteBufAllocator) get.invoke(null, false);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  private static BufferPoolMXBean directPool() {
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        return pool;
      }
    }
    return null;
  }

  /**
   * Resident bytes of the Java heap's address range, or -1 when unknown: the range comes from
   * {@code jcmd GC.heap_info} (its first {@code [0x..., 0x...)}), the resident bytes from the
   * {@code Rss} of each /proc/self/smaps mapping inside it. RSS minus this is the process's
   * resident memory outside the heap: direct buffers, native libraries' mallocs (BoringSSL),
   * metaspace, thread stacks. Heap pages once touched stay resident after a collection, so RSS
   * deltas alone would count eden garbage; this figure does not.
   */
  static long heapRssBytes() {
    long[] range = heapRange();
    if (range == null) {
      return -1;
    }
    long resident = 0;
    boolean inside = false;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        if (dash > 0 && space > dash && isHex(line, 0, dash)) {
          long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
          long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
          inside = start >= range[0] && end <= range[1];
        } else if (inside && line.startsWith("Rss:")) {
          resident += Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return resident;
  }

  private static boolean isHex(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      if (Character.digit(s.charAt(i), 16) < 0) {
        return false;
      }
    }
    return to > from;
  }

  /** [start, end) of the Java heap's reservation, from the GC.heap_info diagnostic command. */
  private static long[] heapRange() {
    String info;
    try {
      info = (String) ManagementFactory.getPlatformMBeanServer().invoke(
          new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
          "gcHeapInfo", new Object[] {new String[0]}, new String[] {String[].class.getName()});
    } catch (javax.management.JMException | RuntimeException e) {
      return null;
    }
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("\\[0x([0-9a-fA-F]+), *0x([0-9a-fA-F]+)\\)").matcher(info);
    if (!m.find()) {
      return null;
    }
    return new long[] {
        Long.parseUnsignedLong(m.group(1), 16), Long.parseUnsignedLong(m.group(2), 16)};
  }

  /** VmRSS from /proc/self/status in bytes, or -1 where there is no procfs. */
  static long rssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Not Linux: no RSS figure.
    }
    return -1;
  }
}
