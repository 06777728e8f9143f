package dev.grpclean.bench.child;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Samples this JVM's memory while an attack runs and keeps the peaks: every {@code periodMs}
 * the figures of {@link Probe#snapshot(boolean)} without GC (direct, RSS, the transport's pool
 * counters, heap used including garbage), and every {@code gcEveryMs} the heap used right after
 * a forced full GC, so the peak of live heap is a figure and not the garbage level. Also the
 * process CPU time and GC count over the sampling.
 *
 * <p>Thread-safe: {@link ChildMain}'s thread starts and stops it, the sampler thread writes the
 * peaks, and {@link #stop()} reads them only after joining that thread.
 */
final class PeakSampler {
  /** Figures of a snapshot whose peak is kept (the rest are not memory). */
  private static final String[] PEAK_FIELDS = {"heapUsed", "directUsed", "directBuffers", "rss",
      "threads", "nettyNoCleanerDirect", "leanLeasedBytes", "leanLeasesOutstanding",
      "leanPooledBytes", "nettyPoolUsedBytes", "nettyPoolDirect", "nettyPoolHeap"};

  private final Probe probe;
  private Thread thread;
  private volatile boolean running;
  /** Written by the sampler thread only; read after join. */
  private JsonObject peaks;
  private long samples;
  private long gcSamples;
  private long cpuStartNanos;
  private long gcCountStart;
  private long startNanos;

  PeakSampler(Probe probe) {
    this.probe = probe;
  }

  /** Starts sampling; a sampler already running is stopped first (its figures are dropped). */
  void start(long periodMillis, long gcEveryMillis) {
    if (thread != null) {
      stop();
    }
    peaks = new JsonObject();
    samples = 0;
    gcSamples = 0;
    cpuStartNanos = processCpuNanos();
    gcCountStart = gcCount();
    startNanos = System.nanoTime();
    running = true;
    thread = new Thread(() -> sample(periodMillis, gcEveryMillis), "bench-peak-sampler");
    thread.setDaemon(true);
    thread.start();
  }

  /** Stops sampling and returns the peaks, the CPU time and GC count since start. */
  JsonObject stop() {
    if (thread == null) {
      throw new IllegalStateException("the sampler is not running");
    }
    running = false;
    thread.interrupt();
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    thread = null;
    JsonObject o = new JsonObject();
    o.add("peaks", peaks);
    o.addProperty("samples", samples);
    o.addProperty("gcSamples", gcSamples);
    o.addProperty("cpuNanos", processCpuNanos() - cpuStartNanos);
    o.addProperty("gcCount", gcCount() - gcCountStart);
    o.addProperty("wallNanos", System.nanoTime() - startNanos);
    return o;
  }

  private void sample(long periodMillis, long gcEveryMillis) {
    long nextGc = System.nanoTime();
    while (running) {
      if (gcEveryMillis > 0 && System.nanoTime() >= nextGc) {
        System.gc();
        max("liveHeap", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        gcSamples++;
        nextGc = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(gcEveryMillis);
      }
      try {
        JsonObject s = probe.snapshot(false, false);
        for (String field : PEAK_FIELDS) {
          JsonElement e = s.get(field);
          if (e != null) {
            max(field, e.getAsLong());
          }
        }
        // Direct memory as the parent adds it up: MXBean plus Netty's cleaner-less counter.
        max("directTotal", s.get("directUsed").getAsLong()
            + (s.has("nettyNoCleanerDirect") ? s.get("nettyNoCleanerDirect").getAsLong() : 0));
        samples++;
        Thread.sleep(periodMillis);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void max(String field, long value) {
    JsonElement old = peaks.get(field);
    if (old == null || old.getAsLong() < value) {
      peaks.addProperty(field, value);
    }
  }

  private static long processCpuNanos() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean) {
      return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
    }
    return -1;
  }

  private static long gcCount() {
    long n = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      n += Math.max(0, gc.getCollectionCount());
    }
    return n;
  }

  /**
   * Waits until this JVM is quiet: two 100 ms windows in a row with less than 15 ms of process
   * CPU (the sampler's own forced GCs included), or {@code maxMillis}. Returns how long it
   * waited and whether it got quiet.
   */
  static JsonObject settle(long maxMillis) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + TimeUnit.MILLISECONDS.toNanos(maxMillis);
    int quietWindows = 0;
    long previous = processCpuNanos();
    while (quietWindows < 2 && System.nanoTime() < deadline) {
      Thread.sleep(100);
      long now = processCpuNanos();
      quietWindows = now - previous < TimeUnit.MILLISECONDS.toNanos(15) ? quietWindows + 1 : 0;
      previous = now;
    }
    JsonObject o = new JsonObject();
    o.addProperty("waitedMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    o.addProperty("quiet", quietWindows >= 2);
    return o;
  }

  /** Parses {@code periodMs} and {@code gcEveryMs} (defaults 50 and 1000). */
  static long[] periods(Map<String, String> args) {
    return new long[] {Long.parseLong(args.getOrDefault("periodMs", "50")),
        Long.parseLong(args.getOrDefault("gcEveryMs", "1000"))};
  }
}
