package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

/**
 * One server stream of 1 MiB messages, as fast as it goes: MiB/s, allocation, CPU, syscalls and
 * context switches per MiB,
 * and each side's in-use and retained memory, GCs and RSS (see {@link DownloadScenario}).
 */
@Command(name = "stream", mixinStandardHelpOptions = true,
    description = "Server streaming of 1 MiB messages on one stream: MiB/s, allocated bytes "
        + "and CPU per MiB on each side.")
final class StreamScenario extends MessageStreamScenario {
  /** "Endless": the stream is cancelled when the window ends. */
  private static final long ENDLESS_BYTES = Long.MAX_VALUE / 2;

  @Override
  String name() {
    return "stream";
  }

  @Override
  Map<String, Object> params() {
    return map("message", messageKib + "KiB", "duration", durationSeconds + "s");
  }

  @Override
  List<Metric> metrics() {
    List<Metric> m = new ArrayList<>(List.of(
        Metric.of("mibPerSecond", "throughput", Metric.Unit.MIB_PER_SECOND),
        Metric.of("client.allocPerMib", "client allocated / MiB", Metric.Unit.KIB),
        Metric.of("server.allocPerMib", "server allocated / MiB", Metric.Unit.KIB),
        Metric.of("client.cpuPerMib", "client CPU / MiB", Metric.Unit.MICROS),
        Metric.of("server.cpuPerMib", "server CPU / MiB", Metric.Unit.MICROS)));
    m.addAll(ProcFigures.metrics("Mib", "MiB"));
    m.addAll(PreloadFigures.metrics("Mib", "MiB"));
    m.addAll(StraceFigures.metrics("Mib", "MiB"));
    m.addAll(memoryMetrics("client"));
    m.addAll(memoryMetrics("server").subList(2, 7));
    return m;
  }

  @Override
  boolean countsSyscalls() {
    return true;
  }

  @Override
  void validate() {
    validateStream();
  }

  @Override
  RunResult run(Transport transport, int rep, Rig rig) throws BenchException {
    String load = " totalBytes=" + ENDLESS_BYTES + " messageBytes=" + (messageKib << 10);
    return LoadRun.withPair(transport, rig, 1, (server, client) -> {
      LoadRun.warmUp(rig, client, "download", warmupSeconds, load);
      server.call("mark sampleMs=" + sampleMillis, LoadRun.QUICK);
      long[] segments = ProcFigures.segmentsBefore(server);
      JsonObject c;
      SyscallTrace.Summaries traced = null;
      PreloadCounters.Counts clientIo = null;
      PreloadCounters.Counts serverIo = null;
      PreloadCounters.Window counted = rig.countSyscalls(server, client);
      try (SyscallTrace trace = rig.traceSyscalls(server, client)) {
        c = LoadRun.measure(rig, client, "streaming", "download", durationSeconds,
            " sampleMs=" + sampleMillis + load);
        if (counted != null) {
          clientIo = counted.client();
          serverIo = counted.server();
        }
        if (trace != null) {
          traced = trace.stop();
        }
      }
      JsonObject s = server.call("counters", LoadRun.QUICK);
      double mib = c.get("bytes").getAsDouble() / (1 << 20);
      if (mib <= 0) {
        throw new BenchException("nothing was streamed on " + transport.id());
      }
      RunResult r = new RunResult(transport, rep);
      r.put("mibPerSecond", c.get("mibPerSecond").getAsDouble());
      r.put("client.allocPerMib", c.get("allocatedBytes").getAsDouble() / mib);
      r.put("server.allocPerMib", s.get("allocatedBytes").getAsDouble() / mib);
      r.put("client.cpuPerMib", c.get("cpuNanos").getAsDouble() / mib / 1e3);
      r.put("server.cpuPerMib", s.get("cpuNanos").getAsDouble() / mib / 1e3);
      ProcFigures.put(r, "Mib", c, s, mib);
      ProcFigures.putSegments(r, "Mib", server, segments, mib);
      if (traced != null) {
        StraceFigures.put(r, "Mib", traced, mib);
      }
      if (clientIo != null) {
        PreloadFigures.put(r, "Mib", clientIo, serverIo, mib);
      }
      putMemory(r, "client", c);
      putMemory(r, "server", s);
      c.remove("inUseSeconds");
      c.remove("inUseBytes");
      r.raw.add("client", c);
      r.raw.add("server", s);
      return r;
    });
  }
}
