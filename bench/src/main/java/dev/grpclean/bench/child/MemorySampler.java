package dev.grpclean.bench.child;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Samples two memory figures on one timer while a load runs:
 * <ul>
 *   <li><b>in use</b>: heap used + direct memory, no forced GC ({@link Probe#inUseBytes()}): what
 *       a memory dashboard shows, eden garbage included;
 *   <li><b>retained</b>: heap in use right after the most recent collection ({@link RetainedHeap})
 *       + the same direct memory: what the transport and application actually keep, a pool's
 *       kept buffers and Netty's direct arenas included;
 *   <li><b>pool</b>: what the transport's buffer pool holds, in use (lean's leased bytes, Netty's
 *       arena bytes handed out) and in all (lean's leased plus kept, Netty's arena chunks)
 *       ({@link Probe#poolBytes()}): the part of the retained figure a pool accounts for.
 * </ul>
 * {@link #stop()} returns the average and peak of each, the in-use series, and the RSS at the
 * end.
 *
 * <p>Thread-safe: the timer thread samples; start and stop come from the caller's thread and
 * synchronize with it on this object.
 */
final class MemorySampler {
  private final Probe probe;
  private final RetainedHeap retainedHeap = new RetainedHeap();
  private ScheduledExecutorService timer;
  private ScheduledFuture<?> task;
  private long startNanos;
  // Guarded by this.
  private final JsonArray seconds = new JsonArray();
  private final JsonArray inUse = new JsonArray();
  private double inUseSum;
  private long inUsePeak;
  private double retainedSum;
  private long retainedPeak;
  private double retainedHeapSum;
  private double directSum;
  private double poolInUseSum;
  private double poolHeldSum;
  private long poolCount;
  /** Lean only: each pool's leased and kept bytes, in {@link Probe#POOL_NAMES} order. */
  private final double[] poolLeasedSums = new double[Probe.POOL_NAMES.length];
  private final double[] poolKeptSums = new double[Probe.POOL_NAMES.length];
  private boolean leanPools;
  private long count;

  MemorySampler(Probe probe) {
    this.probe = probe;
  }

  /** Samples now and then every {@code periodMillis} until {@link #stop()}. */
  synchronized void start(long periodMillis) {
    if (timer != null) {
      throw new IllegalStateException("the memory sampler is already running");
    }
    timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bench-memory-sampler");
      t.setDaemon(true);
      return t;
    });
    startNanos = System.nanoTime();
    task = timer.scheduleAtFixedRate(this::sample, 0, periodMillis, TimeUnit.MILLISECONDS);
  }

  private synchronized void sample() {
    long t = System.nanoTime() - startNanos;
    long used = probe.inUseBytes();
    long heapAfterGc = retainedHeap.bytes();
    long direct = probe.directBytes();
    long retained = heapAfterGc + direct;
    retainedHeapSum += heapAfterGc;
    directSum += direct;
    seconds.add(t / 1e9);
    inUse.add(used);
    inUseSum += used;
    inUsePeak = Math.max(inUsePeak, used);
    retainedSum += retained;
    retainedPeak = Math.max(retainedPeak, retained);
    long[] pool = probe.poolBytes();
    if (pool != null) {
      poolInUseSum += pool[0];
      poolHeldSum += pool[1];
      poolCount++;
      leanPools = probe.addPoolBytes(poolLeasedSums, poolKeptSums);
    }
    count++;
  }

  /**
   * Stops sampling; returns {@code inUseAverage}, {@code inUsePeak}, {@code retainedAverage},
   * {@code retainedPeak}, the retained average's two parts {@code retainedHeapAverage} and
   * {@code directAverage}, {@code poolInUseAverage} and {@code poolHeldAverage} (bytes; the last
   * two only with a pool), for lean each pool's {@code <pool>PoolLeasedAverage} and
   * {@code <pool>PoolKeptAverage}, {@code memorySamples}, {@code rssEnd}, and the in-use series as
   * {@code inUseSeconds} / {@code inUseBytes}.
   */
  JsonObject stop() throws InterruptedException {
    ScheduledExecutorService t;
    synchronized (this) {
      if (timer == null) {
        throw new IllegalStateException("the memory sampler is not running");
      }
      task.cancel(false);
      t = timer;
      timer = null;
    }
    t.shutdown();
    t.awaitTermination(10, TimeUnit.SECONDS);
    synchronized (this) {
      JsonObject o = new JsonObject();
      o.addProperty("memorySamples", count);
      if (count > 0) {
        o.addProperty("inUseAverage", inUseSum / count);
        o.addProperty("inUsePeak", inUsePeak);
        o.addProperty("retainedAverage", retainedSum / count);
        o.addProperty("retainedPeak", retainedPeak);
        o.addProperty("retainedHeapAverage", retainedHeapSum / count);
        o.addProperty("directAverage", directSum / count);
        if (poolCount > 0) {
          o.addProperty("poolInUseAverage", poolInUseSum / poolCount);
          o.addProperty("poolHeldAverage", poolHeldSum / poolCount);
          for (int i = 0; leanPools && i < Probe.POOL_NAMES.length; i++) {
            String pool = Probe.POOL_NAMES[i];
            o.addProperty(pool + "PoolLeasedAverage", poolLeasedSums[i] / poolCount);
            o.addProperty(pool + "PoolKeptAverage", poolKeptSums[i] / poolCount);
          }
        }
        o.add("inUseSeconds", seconds.deepCopy());
        o.add("inUseBytes", inUse.deepCopy());
      }
      o.addProperty("rssEnd", Probe.rssBytes());
      return o;
    }
  }
}
