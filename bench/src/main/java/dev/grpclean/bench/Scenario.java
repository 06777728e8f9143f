package dev.grpclean.bench;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * A benchmark scenario as a subcommand: its own options, the figures it reports, and how one run
 * on one transport goes. {@link Runner} repeats it over transports and reps. Under
 * {@code compare} the defaults become three transports and three reps.
 *
 * <p>Thread-compatible: picocli fills the fields, then one thread runs it.
 */
abstract class Scenario implements Callable<Integer> {
  /** The options every scenario shares. */
  static final class RunOptions {
    @Option(names = "--transports", split = ",", paramLabel = "T",
        converter = TransportConverter.class,
        description = "Transports to run, comma-separated: lean, netty, okhttp "
            + "(default: lean; under compare: lean,netty,okhttp).")
    List<Transport> transports;

    @Option(names = "--reps", paramLabel = "R",
        description = "Runs per transport, interleaved A B C A B C (default: 1; compare: 3).")
    Integer reps;

    @Option(names = "--out", paramLabel = "DIR",
        description = "Where JSON, CSV, charts and logs go (default: bench/out/<timestamp>).")
    Path out;

    @Option(names = "--jvm-flags", paramLabel = "FLAGS", defaultValue = "-Xmx1g -XX:+UseG1GC",
        description = "Flags of both child JVMs, space-separated; {role} becomes server or "
            + "client and {run} the run's name, so that e.g. "
            + "-XX:StartFlightRecording=settings=profile,filename=/tmp/{run}-{role}.jfr "
            + "records each JVM into its own file (default: ${DEFAULT-VALUE}).")
    String jvmFlags;

    @Option(names = "--security", paramLabel = "MODE", defaultValue = "insecure",
        description = "insecure, tls (grpc-testing's test CA) or alts_like (lean only; "
            + "fresh Ed25519 keys per run). A transport without the mode is reported as "
            + "unsupported (default: ${DEFAULT-VALUE}).")
    String security;

    @Option(names = "--reference-security", paramLabel = "MODE",
        description = "Security of the transports that lack --security's mode (netty and "
            + "okhttp have no alts_like), e.g. tls to measure lean's alts_like against Netty "
            + "TLS in one run (default: such transports are reported as unsupported).")
    String referenceSecurity;

    @Option(names = "--tls-provider", paramLabel = "P",
        description = "Lean's TLS engine provider: jdk or conscrypt (passed to lean's JVMs as "
            + "-Dgrpclean.tls.provider; default: lean's own default).")
    String tlsProvider;

    @Option(names = "--syscalls", paramLabel = "HOW", defaultValue = "procfs",
        description = "How unary, stream and large count syscalls: procfs (the default: "
            + "/proc/<pid>/io's read and write families, free, but blind to recv*/send*, "
            + "which Netty's epoll transport uses), preload (also: a small library compiled "
            + "with --cc and loaded into both JVMs with LD_PRELOAD counts socket reads and "
            + "writes of every kind, EAGAIN, wake-ups and epoll waits per unit at full speed) "
            + "or strace (also: strace -f -c attached to both JVMs for the measured window, "
            + "socket reads and writes of every kind, epoll_wait, epoll_ctl and futex per unit; "
            + "strace stops every thread at every syscall, so such a run's QPS, latency and CPU "
            + "are lower than an untraced one's: compare transports within it only).")
    String syscalls;

    @Option(names = "--cc", paramLabel = "PATH", defaultValue = "gcc",
        description = "The C compiler that builds --syscalls preload's library (default: "
            + "${DEFAULT-VALUE} on PATH).")
    String cc;

    @Option(names = "--strace", paramLabel = "PATH", defaultValue = "strace",
        description = "The strace binary of --syscalls strace (default: ${DEFAULT-VALUE} on "
            + "PATH).")
    String strace;

    @Option(names = "--no-charts", description = "Skip the PNG charts.")
    boolean noCharts;

    /** Tests: {@code server:VERB} or {@code client:VERB} halts that JVM when asked to VERB. */
    @Option(names = "--inject-fault", hidden = true)
    String fault;

    /** Tests: the client connects here instead of the server's port. */
    @Option(names = "--connect-port", hidden = true)
    Integer connectPort;
  }

  /** Turns "netty" into {@link Transport#NETTY}; an unknown name is a usage error. */
  static final class TransportConverter implements CommandLine.ITypeConverter<Transport> {
    @Override
    public Transport convert(String value) {
      try {
        return Transport.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  @Mixin
  RunOptions options = new RunOptions();

  @Spec
  CommandSpec spec;

  private boolean compareDefaults;

  /** Switches the defaults to those of {@code compare}. */
  Scenario underCompare() {
    compareDefaults = true;
    return this;
  }

  abstract String name();

  /** The scenario's own settings, for the table heading and the JSON. */
  abstract Map<String, Object> params();

  /** The figures, in table order. */
  abstract List<Metric> metrics();

  /** One run on one transport: fork both JVMs, measure, stop them. */
  abstract RunResult run(Transport transport, int rep, Rig rig) throws BenchException;

  /** Figures drawn side by side per transport in one bar chart; all in the same unit. */
  List<Metric> chartMetrics() {
    return List.of();
  }

  /** The bar chart's title. */
  String chartTitle() {
    return name();
  }

  /** The figure with {@code key} among {@link #metrics()}. */
  Metric metric(String key) {
    return metrics().stream().filter(m -> m.key.equals(key)).findFirst().orElseThrow();
  }

  static void sleep(long millis) throws BenchException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted");
    }
  }

  /** Whether the scenario reports syscalls per unit (and so takes {@code --syscalls}). */
  boolean countsSyscalls() {
    return false;
  }

  /** Whether {@code --syscalls strace} was chosen. */
  boolean straceMode() {
    return "strace".equals(options.syscalls);
  }

  /** The strace binary of {@code --syscalls strace}; null in the other modes or when not found. */
  Path straceBinary() {
    return straceMode() ? SyscallTrace.locate(options.strace, System.getenv("PATH")) : null;
  }

  /** Whether {@code --syscalls preload} was chosen. */
  boolean preloadMode() {
    return "preload".equals(options.syscalls);
  }

  /** The C compiler of {@code --syscalls preload}; null in the other modes or when not found. */
  Path ccBinary() {
    return preloadMode() ? SyscallTrace.locate(options.cc, System.getenv("PATH")) : null;
  }

  /** Checks the scenario's own options; throws {@link #usage(String)} on a bad one. */
  void validate() {}

  List<Transport> transports() {
    if (options.transports != null) {
      return options.transports;
    }
    return compareDefaults ? Transport.compareDefaults() : List.of(Transport.LEAN);
  }

  int reps() {
    return options.reps != null ? options.reps : compareDefaults ? 3 : 1;
  }

  Security security() {
    return Security.parse(options.security);
  }

  /** {@code --reference-security}, or null when not given. */
  Security referenceSecurity() {
    return options.referenceSecurity == null ? null : Security.parse(options.referenceSecurity);
  }

  /**
   * The security {@code transport} runs with: {@code --security} where it has that mode, else
   * {@code --reference-security} (null when neither applies: the transport is unsupported).
   */
  Security securityFor(Transport transport) {
    Security s = security();
    if (s.supports(transport)) {
      return s;
    }
    Security reference = referenceSecurity();
    return reference != null && reference.supports(transport) ? reference : null;
  }

  /**
   * Why {@code transport} cannot run this scenario in the chosen security mode, or null when
   * it can. Such a transport is reported as unsupported, never run.
   */
  String unsupported(Transport transport) {
    Security s = security();
    return securityFor(transport) != null ? null
        : transport.id() + " has no " + s.id() + " credentials (alts_like is lean's own)";
  }

  /** Extra JVM flags of {@code transport}'s children: lean's TLS provider, if chosen. */
  List<String> transportJvmFlags(Transport transport) {
    if (options.tlsProvider == null || !transport.isLean()) {
      return List.of();
    }
    return List.of("-Dgrpclean.tls.provider=" + options.tlsProvider);
  }

  List<String> jvmFlags() {
    return Arrays.asList(options.jvmFlags.trim().split("\\s+"));
  }

  /** Every check of the shared options, then {@link #validate()}. */
  final void validateAll() {
    if (options.transports != null && options.transports.isEmpty()) {
      throw usage("--transports needs at least one transport");
    }
    if (options.transports != null
        && options.transports.stream().distinct().count() != options.transports.size()) {
      throw usage("--transports names a transport twice");
    }
    if (reps() < 1) {
      throw usage("--reps must be at least 1");
    }
    try {
      security();
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    }
    try {
      referenceSecurity();
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage().replace("--security", "--reference-security"));
    }
    if (options.tlsProvider != null && !options.tlsProvider.equals("jdk")
        && !options.tlsProvider.equals("conscrypt")) {
      throw usage("--tls-provider must be jdk or conscrypt, not '" + options.tlsProvider + "'");
    }
    if (!options.syscalls.equals("procfs") && !straceMode() && !preloadMode()) {
      throw usage("--syscalls must be procfs, preload or strace, not '" + options.syscalls
          + "'");
    }
    if ((straceMode() || preloadMode()) && !countsSyscalls()) {
      throw usage("--syscalls " + options.syscalls + " applies to unary, stream and large only, "
          + "not " + name());
    }
    if (preloadMode() && ccBinary() == null) {
      throw usage("--syscalls preload compiles a small C library, but the C compiler '"
          + options.cc + "' " + (options.cc.contains("/") ? "is not an executable file"
          : "is not on PATH") + ": install gcc (e.g. apt-get install gcc), name another with "
          + "--cc, or count with the default --syscalls procfs");
    }
    if (straceMode() && straceBinary() == null) {
      throw usage("--syscalls strace needs strace, but '" + options.strace + "' "
          + (options.strace.contains("/") ? "is not an executable file" : "is not on PATH")
          + ": install it (e.g. apt-get install strace) or count with the default "
          + "--syscalls procfs");
    }
    if (options.jvmFlags.isBlank()) {
      throw usage("--jvm-flags must not be empty");
    }
    validate();
  }

  ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  static void positive(Scenario s, String option, long value) {
    if (value <= 0) {
      throw s.usage(option + " must be positive, not " + value);
    }
  }

  static Map<String, Object> map(Object... keyValues) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put((String) keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  @Override
  public Integer call() throws Exception {
    validateAll();
    return Runner.run(spec.commandLine(), List.of(this));
  }
}
