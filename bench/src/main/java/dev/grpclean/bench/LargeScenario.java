package dev.grpclean.bench;

import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Unary RPCs of 1 MiB each way, 8 outstanding: throughput of big messages. */
@Command(name = "large", mixinStandardHelpOptions = true,
    description = "Unary 1 MiB request and response, 8 outstanding: QPS and MiB/s.")
final class LargeScenario extends Scenario {
  @Option(names = "--concurrency", paramLabel = "C", defaultValue = "8",
      description = "Outstanding RPCs (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(names = "--payload", paramLabel = "BYTES", defaultValue = "1048576",
      description = "Request and response size (default: ${DEFAULT-VALUE}).")
  int payloadBytes;

  @Option(names = "--duration", paramLabel = "S", defaultValue = "10",
      description = "Measured seconds (default: ${DEFAULT-VALUE}).")
  double durationSeconds;

  @Option(names = "--warmup", paramLabel = "S", defaultValue = "3",
      description = "Unmeasured seconds first (default: ${DEFAULT-VALUE}).")
  double warmupSeconds;

  @Override
  String name() {
    return "large";
  }

  @Override
  Map<String, Object> params() {
    return map("concurrency", concurrency, "payload", payloadBytes,
        "duration", durationSeconds + "s", "warmup", warmupSeconds + "s");
  }

  @Override
  List<Metric> metrics() {
    return UnaryScenario.unaryMetrics();
  }

  @Override
  boolean countsSyscalls() {
    return true;
  }

  @Override
  void validate() {
    UnaryScenario.validateLoad(this, concurrency, payloadBytes, 1, durationSeconds,
        warmupSeconds);
  }

  @Override
  RunResult run(Transport transport, int rep, Rig rig) throws BenchException {
    return UnaryScenario.measure(transport, rep, rig, 1, concurrency, payloadBytes,
        durationSeconds, warmupSeconds);
  }
}
