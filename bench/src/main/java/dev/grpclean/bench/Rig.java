package dev.grpclean.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * What a scenario needs to run once: forks the server and client JVMs with the run's flags,
 * names their logs, and reports progress.
 *
 * <p>Thread-compatible.
 */
final class Rig {
  /** JVM start-up, class loading and the first connection on a busy 2-core machine. */
  static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final List<String> jvmFlags;
  private final Path logDir;
  private final Progress progress;
  private final String fault;
  private final Integer connectPort;
  private final Function<Transport, Security> security;
  private final Function<Transport, List<String>> transportFlags;
  private final Path keys;
  /** The strace binary when syscalls are counted with strace; null in the other modes. */
  private final Path strace;
  /** The counting library when syscalls are counted with it; null in the other modes. */
  private final PreloadShim preload;
  private String tag = "run";
  private String prefix = "";

  /**
   * {@code keys}: the alts_like key directory ({@link Security#writeAltsLikeKeys}), passed to
   * both children; null in the other modes. {@code security}: the mode each transport runs with;
   * {@code transportFlags}: JVM flags of that transport's children beside {@code jvmFlags};
   * {@code strace}: the binary {@link #traceSyscalls} attaches, or null; {@code preload}: the
   * library both children load for {@link #countSyscalls}, or null.
   */
  Rig(List<String> jvmFlags, Path logDir, Progress progress, String fault, Integer connectPort,
      Function<Transport, Security> security, Function<Transport, List<String>> transportFlags,
      Path keys, Path strace, PreloadShim preload) {
    this.strace = strace;
    this.preload = preload;
    this.jvmFlags = List.copyOf(jvmFlags);
    this.security = security;
    this.transportFlags = transportFlags;
    this.keys = keys;
    this.logDir = logDir;
    this.progress = progress;
    this.fault = fault;
    this.connectPort = connectPort;
  }

  /** Names the run for logs ({@code tag}) and the progress line ({@code prefix}). */
  void begin(String tag, String prefix) {
    this.tag = tag;
    this.prefix = prefix;
  }

  void step(String what) {
    progress.update(prefix + what);
  }

  List<String> jvmFlags() {
    return jvmFlags;
  }

  /**
   * With {@code --syscalls strace}: strace attached to both JVMs until {@link SyscallTrace#stop};
   * its tables go beside the logs. Null in the default procfs mode.
   */
  SyscallTrace traceSyscalls(ChildJvm server, ChildJvm client) throws BenchException {
    if (strace == null) {
      return null;
    }
    step("attaching strace to both JVMs");
    return SyscallTrace.attach(strace, logDir, tag, server, client);
  }

  /**
   * With {@code --syscalls preload}: both JVMs' counters read now; the window's
   * {@link PreloadCounters.Window#client()} and {@link PreloadCounters.Window#server()} give the
   * counts since. Null in the other modes.
   */
  PreloadCounters.Window countSyscalls(ChildJvm server, ChildJvm client) throws BenchException {
    if (preload == null) {
      return null;
    }
    return new PreloadCounters.Window(counterFile("server"), server, counterFile("client"),
        client);
  }

  /** Where the preload library of the run's {@code role} JVM keeps its counters. */
  Path counterFile(String role) {
    return logDir.resolve(tag + "-" + role + ".syscount");
  }

  ChildJvm server(Transport transport) throws BenchException {
    step("starting the server JVM");
    return ChildJvm.start("server JVM (" + transport.id() + ")", flags("server", transport),
        args("server", transport, List.of()), env("server"), logDir.resolve(tag + "-server.log"),
        START_TIMEOUT);
  }

  /** A client JVM connecting to {@code port} (or to the hidden {@code --connect-port}). */
  ChildJvm client(Transport transport, int port) throws BenchException {
    step("starting the client JVM");
    int target = connectPort != null ? connectPort : port;
    return ChildJvm.start("client JVM (" + transport.id() + ")", flags("client", transport),
        args("client", transport, List.of(String.valueOf(target))), env("client"),
        logDir.resolve(tag + "-client.log"), START_TIMEOUT);
  }

  /**
   * The environment a child gets beside the inherited one: the preload library and a fresh
   * counter file in preload mode, nothing otherwise.
   */
  private Map<String, String> env(String role) throws BenchException {
    if (preload == null) {
      return Map.of();
    }
    Path file = counterFile(role);
    try {
      Files.createDirectories(logDir);
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw new BenchException("cannot prepare the syscall counter file " + file + ": " + e);
    }
    return preload.env(file);
  }

  /**
   * The run's JVM flags for one child, with {@code {role}} replaced by {@code server} or
   * {@code client} and {@code {run}} by the run's tag (e.g. {@code download-lean-1}), so a flag
   * that names a file (a JFR recording, a GC log) gets one file per JVM.
   */
  List<String> flags(String role, Transport transport) {
    List<String> flags = new ArrayList<>(jvmFlags.size());
    for (String flag : jvmFlags) {
      flags.add(flag.replace("{role}", role).replace("{run}", tag));
    }
    flags.addAll(transportFlags.apply(transport));
    // The transport's own, e.g. lean-nocounters' switch (Transport#childJvmFlags()).
    flags.addAll(transport.childJvmFlags());
    return flags;
  }

  private List<String> args(String role, Transport transport, List<String> more) {
    List<String> args = new ArrayList<>();
    args.add(role);
    args.add(transport.id());
    args.addAll(more);
    Security mode = security.apply(transport);
    if (mode != Security.INSECURE) {
      args.add("--security");
      args.add(mode.id());
    }
    if (keys != null) {
      args.add("--keys");
      args.add(keys.toString());
    }
    if (fault != null && fault.startsWith(role + ":")) {
      args.add("--fault");
      args.add(fault.substring(role.length() + 1));
    }
    return args;
  }
}
