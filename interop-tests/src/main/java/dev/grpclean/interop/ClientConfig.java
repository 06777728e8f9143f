package dev.grpclean.interop;

import io.grpc.ChannelCredentials;
import java.util.Set;
import javax.annotation.Nullable;

/**
 * What the interop client was asked to do, read from grpc-java TestServiceClient's flags plus
 * {@code --transport}, {@code --security} and {@code --report}.
 *
 * <p>Immutable.
 */
final class ClientConfig {
  static final Set<String> FLAGS =
      union(
          SecurityOptions.FLAGS,
          Set.of(
              "server_host",
              "server_port",
              "server_host_override",
              "test_case",
              "num_times",
              "transport",
              "report",
              "soak_iterations",
              "soak_max_failures",
              "soak_per_iteration_max_acceptable_latency_ms",
              "soak_min_time_ms_between_rpcs",
              "soak_overall_timeout_seconds",
              "soak_request_size",
              "soak_response_size",
              "soak_num_threads"));

  static final String USAGE =
      "Usage: interop-client [--flag=value ...]\n"
          + "  --server_host=HOST             default localhost\n"
          + "  --server_port=PORT             default 8080\n"
          + "  --server_host_override=HOST    authority to claim, e.g. foo.test.google.fr for TLS\n"
          + "  --transport=lean|netty|okhttp  client transport. Default lean\n"
          + SecurityOptions.USAGE
          + "  --test_case=NAME[,NAME...]|all default all; cases: "
          + String.join(" ", CaseRunner.ALL_NAMES) + "\n"
          + "  --num_times=N                  run each case N times. Default 1\n"
          + "  --report=FILE                  also write the results as JSON\n"
          + "  --soak_iterations=N            rpc_soak/channel_soak RPCs. Default 10\n"
          + "  --soak_max_failures, --soak_per_iteration_max_acceptable_latency_ms,\n"
          + "  --soak_min_time_ms_between_rpcs, --soak_overall_timeout_seconds,\n"
          + "  --soak_request_size, --soak_response_size, --soak_num_threads\n"
          + "                                 as grpc-java's TestServiceClient\n";

  final String host;
  final int port;
  @Nullable final String hostOverride;
  final TransportKind transport;
  final SecurityOptions security;
  final String testCases;
  final int numTimes;
  @Nullable final String reportFile;
  final int soakIterations;
  final int soakMaxFailures;
  final int soakMaxLatencyMs;
  final int soakMinTimeMsBetweenRpcs;
  final int soakOverallTimeoutSeconds;
  final int soakRequestSize;
  final int soakResponseSize;
  final int soakThreads;

  private ClientConfig(Flags flags) {
    host = flags.string("server_host", "localhost");
    port = flags.integer("server_port", 8080);
    hostOverride = flags.string("server_host_override", null);
    transport = TransportKind.fromFlags(flags);
    security = SecurityOptions.fromFlags(flags);
    testCases = flags.string("test_case", "all");
    numTimes = flags.integer("num_times", 1);
    reportFile = flags.string("report", null);
    soakIterations = flags.integer("soak_iterations", 10);
    soakMaxFailures = flags.integer("soak_max_failures", 0);
    soakMaxLatencyMs = flags.integer("soak_per_iteration_max_acceptable_latency_ms", 1000);
    soakMinTimeMsBetweenRpcs = flags.integer("soak_min_time_ms_between_rpcs", 0);
    soakOverallTimeoutSeconds =
        flags.integer(
            "soak_overall_timeout_seconds", Math.max(1, soakIterations * soakMaxLatencyMs / 1000));
    soakRequestSize = flags.integer("soak_request_size", 271828);
    soakResponseSize = flags.integer("soak_response_size", 314159);
    soakThreads = flags.integer("soak_num_threads", 1);
    if (numTimes < 1) {
      throw new Flags.UsageException("--num_times must be at least 1");
    }
  }

  static ClientConfig parse(String[] args) {
    return new ClientConfig(Flags.parse(args, FLAGS));
  }

  /**
   * The credentials for every channel of this run.
   *
   * @throws java.io.UncheckedIOException if a key file cannot be read
   */
  ChannelCredentials channelCredentials() {
    return security.mode().channelCredentials(security);
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> all = new java.util.HashSet<>(a);
    all.addAll(b);
    return Set.copyOf(all);
  }

  String target() {
    return host + ":" + port;
  }
}
