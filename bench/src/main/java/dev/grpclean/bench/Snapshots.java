package dev.grpclean.bench;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a child's memory snapshots ({@code snapshot} replies) into per-connection figures:
 * (after − baseline) / connections, for one side ({@code server} or {@code client}).
 *
 * <p>Stateless.
 */
final class Snapshots {
  private Snapshots() {}

  /** The per-connection figures of one side, in table order. */
  static List<Metric> perConnectionMetrics(String side) {
    List<Metric> m = new ArrayList<>();
    m.add(Metric.of(side + ".heapPerConn", side + " heap / conn", Metric.Unit.KIB));
    m.add(Metric.of(side + ".directPerConn", side + " direct / conn", Metric.Unit.KIB));
    m.add(Metric.of(side + ".rssPerConn", side + " RSS / conn", Metric.Unit.KIB));
    m.add(Metric.of(side + ".nativePerConn", side + " RSS outside heap / conn",
        Metric.Unit.KIB));
    m.add(Metric.of(side + ".heapNativePerConn", side + " heap + native / conn",
        Metric.Unit.KIB));
    m.add(Metric.of(side + ".threadsPerConn", side + " threads / conn", Metric.Unit.COUNT));
    m.add(Metric.of(side + ".leasedPerConn", side + " lean leased / conn", Metric.Unit.KIB));
    m.add(Metric.of(side + ".leanPooled", side + " lean pool kept (total)", Metric.Unit.KIB));
    m.add(Metric.of(side + ".nettyUsedPerConn", side + " netty pool used / conn",
        Metric.Unit.KIB));
    m.add(Metric.of(side + ".nettyChunks", side + " netty pool chunks (Δ total)",
        Metric.Unit.KIB));
    return m;
  }

  static void putPerConnection(RunResult r, String side, JsonObject before, JsonObject after,
      int connections) {
    double n = connections;
    double heapPerConn = heapDeltaBesidesPool(before, after) / n;
    r.put(side + ".heapPerConn", heapPerConn);
    r.put(side + ".directPerConn", directDelta(before, after) / n);
    if (after.get("rss").getAsLong() >= 0) {
      r.put(side + ".rssPerConn", delta(before, after, "rss") / n);
    }
    if (after.has("nativeRss") && before.has("nativeRss")) {
      double nativePerConn = delta(before, after, "nativeRss") / n;
      r.put(side + ".nativePerConn", nativePerConn);
      r.put(side + ".heapNativePerConn", heapPerConn + nativePerConn);
    }
    r.put(side + ".threadsPerConn", delta(before, after, "threads") / n);
    if (after.has("leanLeasedBytes")) {
      r.put(side + ".leasedPerConn", delta(before, after, "leanLeasedBytes") / n);
      r.put(side + ".leanPooled", after.get("leanPooledBytes").getAsDouble());
    }
    if (after.has("nettyPoolUsedBytes")) {
      r.put(side + ".nettyUsedPerConn", delta(before, after, "nettyPoolUsedBytes") / n);
    }
    if (after.has("nettyPoolDirect")) {
      r.put(side + ".nettyChunks", delta(before, after, "nettyPoolDirect")
          + delta(before, after, "nettyPoolHeap"));
    }
    JsonObject raw = new JsonObject();
    raw.add("before", before);
    raw.add("after", after);
    r.raw.add(side, raw);
  }

  /**
   * Heap after GC of {@code after} minus before, without what lean's heap pool keeps for reuse:
   * the pool follows recent demand and gives kept buffers back on its own clock (its decay), so
   * between two snapshots it can shrink by hundreds of KiB that have nothing to do with the
   * connections opened in between (24 connections measured a negative heap per connection that
   * way). Its total is reported on its own ({@code leanPooled}). Zero for other transports.
   */
  static double heapDeltaBesidesPool(JsonObject before, JsonObject after) {
    return delta(before, after, "heapUsed") - delta(before, after, "leanHeapPooledBytes");
  }

  /** Heap + direct (MXBean and Netty's cleaner-less counter) of {@code after} minus before. */
  static double memoryDelta(JsonObject before, JsonObject after) {
    return delta(before, after, "heapUsed") + directDelta(before, after);
  }

  static double directDelta(JsonObject before, JsonObject after) {
    return delta(before, after, "directUsed") + delta(before, after, "nettyNoCleanerDirect");
  }

  static double delta(JsonObject before, JsonObject after, String field) {
    return value(after, field) - value(before, field);
  }

  static double value(JsonObject o, String field) {
    JsonElement e = o.get(field);
    return e == null ? 0 : e.getAsDouble();
  }
}
