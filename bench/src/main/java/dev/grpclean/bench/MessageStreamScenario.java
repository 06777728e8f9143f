package dev.grpclean.bench;

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

  /** Checks the shared options; a subclass's {@link #validate()} calls it after its own. */
  final void validateStream() {
    if (messageKib <= 0 || messageKib > 4096) {
      throw usage("--message-kib must be between 1 and 4096");
    }
    if (!(durationSeconds > 0) || !(warmupSeconds >= 0)) {
      throw usage("--duration must be positive and --warmup not negative");
    }
  }
}
