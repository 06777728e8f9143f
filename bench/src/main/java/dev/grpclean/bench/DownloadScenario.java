package dev.grpclean.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The download client: K channels each download a 64 MiB server stream of 1 MiB messages, again
 * and again. The client's in-use memory (heap used + direct used, no forced GC) is sampled every
 * 100 ms: its average and peak are the figures grpc-go's read-buffer fix moved from ~35 MB to
 * ~20 MB. On the same timer, both sides' retained memory (heap right after the latest
 * collection + direct: what is kept, not the garbage not yet collected), then GC count and
 * pauses and RSS at the end. Throughput shows what the memory costs or buys.
 */
@Command(name = "download", mixinStandardHelpOptions = true,
    description = "K channels download 64 MiB streams of 1 MiB messages in a loop: "
        + "client in-use memory (average, peak) and throughput.")
final class DownloadScenario extends MessageStreamScenario {
  /**
   * Seconds of quiet after the load before the pools' kept bytes are read: within the 15 s the
   * issue allows for them to fall to 1 MiB (lean's decay needs two 2 s periods).
   */
  static final int QUIET_SECONDS = 6;

  @Option(names = "--channels", paramLabel = "K", defaultValue = "4",
      description = "Concurrent channels, one download each (default: ${DEFAULT-VALUE}).")
  int channels;

  @Option(names = "--stream-mib", paramLabel = "MIB", defaultValue = "64",
      description = "Size of one download (default: ${DEFAULT-VALUE}).")
  int streamMib;

  @Override
  String name() {
    return "download";
  }

  @Override
  Map<String, Object> params() {
    return map("channels", channels, "stream", streamMib + "MiB", "message", messageKib + "KiB",
        "duration", durationSeconds + "s");
  }

  @Override
  List<Metric> metrics() {
    List<Metric> m = new ArrayList<>(memoryMetrics("client"));
    m.add(Metric.of("client.retainedHeapAverage", "client retained: heap after GC average",
        Metric.Unit.MIB));
    m.add(Metric.of("client.directAverage", "client retained: direct average", Metric.Unit.MIB));
    m.add(Metric.of("client.poolInUseAverage", "client pool in use average", Metric.Unit.MIB));
    m.add(Metric.of("client.poolHeldAverage", "client pool held average (in use + kept)",
        Metric.Unit.MIB));
    m.add(Metric.of("client.baselineHeap", "client heap before (after GC)", Metric.Unit.MIB));
    m.add(Metric.of("client.baselinePoolKept", "client pool kept before (warm-up's)", Metric.Unit.MIB));
    m.add(Metric.of("mibPerSecond", "throughput", Metric.Unit.MIB_PER_SECOND));
    m.add(Metric.of("client.allocPerMib", "client allocated / MiB", Metric.Unit.KIB));
    m.add(Metric.of("client.cpuPerMib", "client CPU / MiB", Metric.Unit.MICROS));
    m.add(Metric.of("server.allocPerMib", "server allocated / MiB", Metric.Unit.KIB));
    m.add(Metric.of("server.cpuPerMib", "server CPU / MiB", Metric.Unit.MICROS));
    m.addAll(memoryMetrics("server").subList(2, 7));
    m.add(Metric.of("client.poolKeptAfterQuiet", "client pool kept " + QUIET_SECONDS
        + " s after the load", Metric.Unit.MIB));
    m.add(Metric.of("server.poolKeptAfterQuiet", "server pool kept " + QUIET_SECONDS
        + " s after the load", Metric.Unit.MIB));
    return m;
  }

  @Override
  List<Metric> chartMetrics() {
    return List.of(metric("client.inUseAverage"), metric("client.inUsePeak"));
  }

  @Override
  String chartTitle() {
    return "client in-use memory";
  }

  @Override
  void validate() {
    positive(this, "--channels", channels);
    positive(this, "--stream-mib", streamMib);
    validateStream();
  }

  @Override
  RunResult run(Transport transport, int rep, Rig rig) throws BenchException {
    String load = " totalBytes=" + ((long) streamMib << 20) + " messageBytes=" + (messageKib << 10);
    return LoadRun.withPair(transport, rig, channels, (server, client) -> {
      LoadRun.warmUp(rig, client, "download", warmupSeconds, load);
      JsonObject before = client.call("snapshot", LoadRun.QUICK);
      server.call("mark sampleMs=" + sampleMillis, LoadRun.QUICK);
      JsonObject c = LoadRun.measure(rig, client, "downloading", "download", durationSeconds,
          " sampleMs=" + sampleMillis + load);
      JsonObject s = server.call("counters", LoadRun.QUICK);
      rig.step("quiet for " + QUIET_SECONDS + " s");
      try {
        Thread.sleep(QUIET_SECONDS * 1000L);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BenchException("interrupted while quiet");
      }
      JsonObject clientQuiet = client.call("snapshot gc=false", LoadRun.QUICK);
      JsonObject serverQuiet = server.call("snapshot gc=false", LoadRun.QUICK);
      RunResult r = new RunResult(transport, rep);
      double mib = c.get("bytes").getAsDouble() / (1 << 20);
      if (mib <= 0) {
        throw new BenchException("nothing was downloaded on " + transport.id());
      }
      putMemory(r, "client", c);
      // The retained average's two parts; then the pool's: lean's leased, and leased + kept;
      // Netty's arena bytes handed out, and its arenas' chunks.
      for (String key : new String[] {
          "retainedHeapAverage", "directAverage", "poolInUseAverage", "poolHeldAverage"}) {
        if (c.has(key)) {
          r.put("client." + key, c.get(key).getAsDouble());
        }
      }
      r.put("client.baselineHeap", before.get("heapUsed").getAsDouble());
      // What the pools keep when the window starts: lean's still hold what the warm-up's
      // downloads leased (they decay only after two periods of quiet), its heap pool's part
      // inside the heap before; Netty's arena bytes are direct, outside it.
      r.put("client.baselinePoolKept", poolKept(before));
      r.put("mibPerSecond", c.get("mibPerSecond").getAsDouble());
      r.put("client.allocPerMib", c.get("allocatedBytes").getAsDouble() / mib);
      r.put("client.cpuPerMib", c.get("cpuNanos").getAsDouble() / mib / 1e3);
      r.put("server.allocPerMib", s.get("allocatedBytes").getAsDouble() / mib);
      r.put("server.cpuPerMib", s.get("cpuNanos").getAsDouble() / mib / 1e3);
      putMemory(r, "server", s);
      r.put("client.poolKeptAfterQuiet", poolKept(clientQuiet));
      r.put("server.poolKeptAfterQuiet", poolKept(serverQuiet));
      r.series.put("inUse", new double[][] {
          doubles(c.remove("inUseSeconds").getAsJsonArray()),
          doubles(c.remove("inUseBytes").getAsJsonArray())});
      r.raw.add("client", c);
      r.raw.add("clientBefore", before);
      r.raw.add("server", s);
      return r;
    });
  }

  /**
   * What a transport's buffer pools keep for reuse in a snapshot: lean's pooled bytes, Netty's
   * arena bytes handed out (to buffers or thread caches), 0 where there is no pool (okhttp).
   */
  private static double poolKept(JsonObject snapshot) {
    if (snapshot.has("leanPooledBytes")) {
      return snapshot.get("leanPooledBytes").getAsDouble();
    }
    return snapshot.has("nettyPoolUsedBytes") ? snapshot.get("nettyPoolUsedBytes").getAsDouble() : 0;
  }

  static double[] doubles(JsonArray a) {
    double[] d = new double[a.size()];
    for (int i = 0; i < d.length; i++) {
      d[i] = a.get(i).getAsDouble();
    }
    return d;
  }
}
