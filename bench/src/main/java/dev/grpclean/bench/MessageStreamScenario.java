package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * A scenario that streams messages from server to client for a timed window ({@code stream},
 * {@code download}): the options and checks they share.
 */
abstract class MessageStreamScenario extends Scenario {
  @Option(names = "--duration", paramLabel = "S", defaultValue = "10",
      description = "Measured seconds (default: ${DEFAULT-VALUE}).")
  double durationSeconds;

  @Option(names = "--warmup", paramLabel = "S", defaultValue = "2",
      description = "Unmeasured seconds first (default: ${DEFAULT-VALUE}).")
  double warmupSeconds;

  @Option(names = "--message-kib", paramLabel = "KIB", defaultValue = "1024",
      description = "Message size (default: ${DEFAULT-VALUE}).")
  int messageKib;

  @Option(names = "--sample-ms", paramLabel = "MS", defaultValue = "100",
      description = "Period of the in-use and retained memory samples (default: ${DEFAULT-VALUE}).")
  int sampleMillis;

  /** Checks the shared options; a subclass's {@link #validate()} calls it after its own. */
  final void validateStream() {
    if (messageKib <= 0 || messageKib > 4096) {
      throw usage("--message-kib must be between 1 and 4096");
    }
    positive(this, "--sample-ms", sampleMillis);
    if (!(durationSeconds > 0) || !(warmupSeconds >= 0)) {
      throw usage("--duration must be positive and --warmup not negative");
    }
  }

  /**
   * The memory figures of one side ({@code client} or {@code server}) measured over the window:
   * in-use and retained average and peak, GC count and pause time, RSS at the end.
   */
  static List<Metric> memoryMetrics(String side) {
    List<Metric> m = new ArrayList<>();
    m.add(Metric.of(side + ".inUseAverage", side + " in-use average", Metric.Unit.MIB));
    m.add(Metric.of(side + ".inUsePeak", side + " in-use peak", Metric.Unit.MIB));
    m.add(Metric.of(side + ".retainedAverage", side + " retained average", Metric.Unit.MIB));
    m.add(Metric.of(side + ".retainedPeak", side + " retained peak", Metric.Unit.MIB));
    m.add(Metric.of(side + ".rssEnd", side + " RSS at the end", Metric.Unit.MIB));
    m.add(Metric.of(side + ".gcCount", side + " GCs", Metric.Unit.COUNT));
    m.add(Metric.of(side + ".gcPauseMillis", side + " GC pauses", Metric.Unit.MILLIS));
    return m;
  }

  /** Copies {@link #memoryMetrics} of {@code side} from a child's load or counters reply. */
  static void putMemory(RunResult r, String side, JsonObject o) {
    copy(r, side + ".inUseAverage", o, "inUseAverage");
    copy(r, side + ".inUsePeak", o, "inUsePeak");
    copy(r, side + ".retainedAverage", o, "retainedAverage");
    copy(r, side + ".retainedPeak", o, "retainedPeak");
    copy(r, side + ".rssEnd", o, "rssEnd");
    copy(r, side + ".gcCount", o, "gcCount");
    // JDK 17's G1 beans (young, old) count stop-the-world time only: pauses.
    copy(r, side + ".gcPauseMillis", o, "gcMillis");
  }

  private static void copy(RunResult r, String key, JsonObject o, String field) {
    if (o.has(field)) {
      r.put(key, o.get(field).getAsDouble());
    }
  }
}
