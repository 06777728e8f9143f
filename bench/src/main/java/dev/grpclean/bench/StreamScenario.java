package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** One server stream of 1 MiB messages, as fast as it goes: MiB/s and allocation per MiB. */
@Command(name = "stream", mixinStandardHelpOptions = true,
    description = "Server streaming of 1 MiB messages on one stream: MiB/s, allocated bytes "
        + "and CPU per MiB on each side.")
final class StreamScenario extends Scenario {
  /** "Endless": the stream is cancelled when the window ends. */
  private static final long ENDLESS_BYTES = Long.MAX_VALUE / 2;

  @Option(names = "--duration", paramLabel = "S", defaultValue = "10",
      description = "Measured seconds (default: ${DEFAULT-VALUE}).")
  double durationSeconds;

  @Option(names = "--warmup", paramLabel = "S", defaultValue = "2",
      description = "Unmeasured seconds first (default: ${DEFAULT-VALUE}).")
  double warmupSeconds;

  @Option(names = "--message-kib", paramLabel = "KIB", defaultValue = "1024",
      description = "Message size (default: ${DEFAULT-VALUE}).")
  int messageKib;

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
    return List.of(
        Metric.of("mibPerSecond", "throughput", Metric.Unit.MIB_PER_SECOND),
        Metric.of("client.allocPerMib", "client allocated / MiB", Metric.Unit.KIB),
        Metric.of("server.allocPerMib", "server allocated / MiB", Metric.Unit.KIB),
        Metric.of("client.cpuPerMib", "client CPU / MiB", Metric.Unit.MICROS),
        Metric.of("server.cpuPerMib", "server CPU / MiB", Metric.Unit.MICROS));
  }

  @Override
  void validate() {
    if (messageKib <= 0 || messageKib > 4096) {
      throw usage("--message-kib must be between 1 and 4096");
    }
    if (!(durationSeconds > 0) || !(warmupSeconds >= 0)) {
      throw usage("--duration must be positive and --warmup not negative");
    }
  }

  @Override
  RunResult run(Transport transport, int rep, Rig rig) throws BenchException {
    long durationMs = Math.round(durationSeconds * 1000);
    long warmupMs = Math.round(warmupSeconds * 1000);
    String load = " totalBytes=" + ENDLESS_BYTES + " messageBytes=" + (messageKib << 10);
    Duration quick = Duration.ofSeconds(60);
    try (ChildJvm server = rig.server(transport)) {
      try (ChildJvm client = rig.client(transport, server.ready().get("port").getAsInt())) {
        client.call("channels n=1", quick);
        if (warmupMs > 0) {
          rig.step("warming up for " + warmupSeconds + " s");
          client.call("download durationMs=" + warmupMs + load,
              Duration.ofMillis(warmupMs).plusSeconds(90));
        }
        server.call("mark", quick);
        rig.step("streaming for " + durationSeconds + " s");
        JsonObject c = client.call("download durationMs=" + durationMs + load,
            Duration.ofMillis(durationMs).plusSeconds(90));
        JsonObject s = server.call("counters", quick);
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
        r.raw.add("client", c);
        r.raw.add("server", s);
        return r;
      }
    }
  }
}
