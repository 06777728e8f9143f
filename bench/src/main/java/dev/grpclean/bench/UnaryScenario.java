package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Ping-pong unary RPCs with C outstanding: QPS, latency percentiles, and allocation, CPU, read and
 * write syscalls and context switches per RPC on each side. The server's counters cover the same
 * window as the client's: the parent marks the server between the warm-up and the measured phase.
 * With {@code --syscalls strace}, strace counts both JVMs' syscalls over the measured call too;
 * with {@code --syscalls preload}, the preload library's counters ({@link PreloadCounters}) are
 * read just before and after it.
 */
@Command(name = "unary", mixinStandardHelpOptions = true,
    description = "Unary RPCs with C outstanding: QPS, latency, allocation and CPU per RPC.")
final class UnaryScenario extends Scenario {
  @Option(names = "--concurrency", paramLabel = "C", defaultValue = "64",
      description = "Outstanding RPCs (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(names = "--payload", paramLabel = "BYTES", defaultValue = "100",
      description = "Request and response size (default: ${DEFAULT-VALUE}).")
  int payloadBytes;

  @Option(names = "--channels", paramLabel = "K", defaultValue = "1",
      description = "Channels the RPCs are spread over (default: ${DEFAULT-VALUE}).")
  int channels;

  @Option(names = "--duration", paramLabel = "S", defaultValue = "10",
      description = "Measured seconds (default: ${DEFAULT-VALUE}).")
  double durationSeconds;

  @Option(names = "--warmup", paramLabel = "S", defaultValue = "3",
      description = "Unmeasured seconds first, for the JIT (default: ${DEFAULT-VALUE}).")
  double warmupSeconds;

  @Override
  String name() {
    return "unary";
  }

  @Override
  Map<String, Object> params() {
    return map("concurrency", concurrency, "payload", payloadBytes, "channels", channels,
        "duration", durationSeconds + "s", "warmup", warmupSeconds + "s");
  }

  @Override
  List<Metric> metrics() {
    return unaryMetrics();
  }

  static List<Metric> unaryMetrics() {
    List<Metric> m = new ArrayList<>(List.of(
        Metric.of("qps", "QPS", Metric.Unit.PER_SECOND),
        Metric.of("mibPerSecond", "throughput each way", Metric.Unit.MIB_PER_SECOND),
        Metric.of("p50", "latency p50", Metric.Unit.MICROS),
        Metric.of("p99", "latency p99", Metric.Unit.MICROS),
        Metric.of("p999", "latency p99.9", Metric.Unit.MICROS),
        Metric.of("client.allocPerRpc", "client allocated / RPC", Metric.Unit.KIB),
        Metric.of("server.allocPerRpc", "server allocated / RPC", Metric.Unit.KIB),
        Metric.of("client.cpuPerRpc", "client CPU / RPC", Metric.Unit.MICROS),
        Metric.of("server.cpuPerRpc", "server CPU / RPC", Metric.Unit.MICROS)));
    m.addAll(ProcFigures.metrics("Rpc", "RPC"));
    m.addAll(PreloadFigures.metrics("Rpc", "RPC"));
    m.addAll(StraceFigures.metrics("Rpc", "RPC"));
    return m;
  }

  @Override
  boolean countsSyscalls() {
    return true;
  }

  @Override
  List<Metric> chartMetrics() {
    return List.of(metric("p50"), metric("p99"), metric("p999"));
  }

  @Override
  String chartTitle() {
    return "unary latency percentiles";
  }

  @Override
  void validate() {
    validateLoad(this, concurrency, payloadBytes, channels, durationSeconds, warmupSeconds);
  }

  static void validateLoad(Scenario s, int concurrency, int payloadBytes, int channels,
      double durationSeconds, double warmupSeconds) {
    positive(s, "--concurrency", concurrency);
    positive(s, "--channels", channels);
    if (payloadBytes < 0 || payloadBytes > 4 << 20) {
      throw s.usage("--payload must be between 0 and 4194304 bytes (gRPC's default limit)");
    }
    if (!(durationSeconds > 0)) {
      throw s.usage("--duration must be positive");
    }
    if (!(warmupSeconds >= 0)) {
      throw s.usage("--warmup must not be negative");
    }
  }

  @Override
  RunResult run(Transport transport, int rep, Rig rig) throws BenchException {
    return measure(transport, rep, rig, channels, concurrency, payloadBytes, durationSeconds,
        warmupSeconds);
  }

  /** One closed-loop unary run; shared with {@code large}. */
  static RunResult measure(Transport transport, int rep, Rig rig, int channels, int concurrency,
      int payloadBytes, double durationSeconds, double warmupSeconds) throws BenchException {
    String load = " concurrency=" + concurrency + " payload=" + payloadBytes;
    return LoadRun.withPair(transport, rig, channels, (server, client) -> {
      LoadRun.warmUp(rig, client, "unary", warmupSeconds, load);
      server.call("mark", LoadRun.QUICK);
      long[] segments = ProcFigures.segmentsBefore(server);
      JsonObject c;
      SyscallTrace.Summaries traced = null;
      PreloadCounters.Counts clientIo = null;
      PreloadCounters.Counts serverIo = null;
      PreloadCounters.Window counted = rig.countSyscalls(server, client);
      try (SyscallTrace trace = rig.traceSyscalls(server, client)) {
        c = LoadRun.measure(rig, client, "measuring", "unary", durationSeconds, load);
        if (counted != null) {
          clientIo = counted.client();
          serverIo = counted.server();
        }
        if (trace != null) {
          traced = trace.stop();
        }
      }
      JsonObject s = server.call("counters", LoadRun.QUICK);
      RunResult r = new RunResult(transport, rep);
      double rpcs = c.get("rpcs").getAsDouble();
      if (rpcs <= 0) {
        throw new BenchException("no unary RPC completed on " + transport.id());
      }
      r.put("qps", c.get("qps").getAsDouble());
      r.put("mibPerSecond", c.get("qps").getAsDouble() * payloadBytes / (1 << 20));
      r.put("p50", c.get("p50Micros").getAsDouble());
      r.put("p99", c.get("p99Micros").getAsDouble());
      r.put("p999", c.get("p999Micros").getAsDouble());
      r.put("client.allocPerRpc", c.get("allocatedBytes").getAsDouble() / rpcs);
      r.put("server.allocPerRpc", s.get("allocatedBytes").getAsDouble() / rpcs);
      r.put("client.cpuPerRpc", c.get("cpuNanos").getAsDouble() / rpcs / 1e3);
      r.put("server.cpuPerRpc", s.get("cpuNanos").getAsDouble() / rpcs / 1e3);
      ProcFigures.put(r, "Rpc", c, s, rpcs);
      ProcFigures.putSegments(r, "Rpc", server, segments, rpcs);
      if (traced != null) {
        StraceFigures.put(r, "Rpc", traced, rpcs);
      }
      if (clientIo != null) {
        PreloadFigures.put(r, "Rpc", clientIo, serverIo, rpcs);
      }
      r.raw.add("client", c);
      r.raw.add("server", s);
      return r;
    });
  }
}
