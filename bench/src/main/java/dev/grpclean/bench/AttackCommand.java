package dev.grpclean.bench;

import com.google.gson.JsonObject;
import dev.grpclean.bench.attack.Attack;
import dev.grpclean.bench.attack.EchoCheck;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code attack}: HTTP/2 attacks on a forked server JVM per transport (default settings,
 * {@link BenchService}), spoken by this JVM over raw loopback sockets. For each attack it
 * records what the server answered and what the attack cost it: the server's memory before
 * (after forced GC), at the attack's peak (sampled inside the server, live heap from forced
 * GCs) and after the attacker closed its connections, plus the CPU the server burned meanwhile,
 * and whether it still serves an ordinary call afterwards. A server that dies, stops serving or
 * keeps memory from an attack is recorded and replaced by a fresh one for the next attack; the
 * attacks that open many connections always get a fresh one.
 *
 * <p>Exit status: 0 done (whatever the servers did), 1 a server JVM could not be started or
 * measured at all, 2 bad arguments.
 *
 * <p>Thread-compatible: picocli fills the fields, then one thread runs everything, the attacks
 * included; each server JVM samples itself.
 */
@Command(name = "attack", mixinStandardHelpOptions = true,
    description = {"HTTP/2 attacks on a forked server (lean vs netty): what each server answers "
        + "and what memory each attack costs it.",
        "Attacks: rapid-reset, settings-flood, ping-flood, empty-data-flood, "
            + "window-update-flood, continuation-flood, continuation-flood-empty, hpack-bomb, "
            + "slow-reader, half-open, connection-flood."})
final class AttackCommand implements Callable<Integer> {
  /** Timeout of a control call to the server JVM (a forced GC on a loaded 2-core machine). */
  private static final Duration CONTROL = Duration.ofSeconds(60);
  /**
   * Before a baseline and before the "after" figures the server must be quiet (its CPU below
   * 15% of a core for 200 ms): it has noticed the closed connections and finished the work the
   * attack queued. Bounded, so a server that never calms down is recorded, not waited for.
   */
  private static final String SETTLE = "settle maxMs=15000";
  private static final Duration SETTLE_CONTROL = Duration.ofSeconds(75);
  /** An Echo call after an attack; generous, a loaded 2-core machine is slow. */
  private static final Duration ECHO_TIMEOUT = Duration.ofSeconds(20);
  /** The first calls of a fresh JVM: class loading and JIT on a loaded machine. */
  private static final Duration WARM_UP_TIMEOUT = Duration.ofSeconds(60);
  /** Memory an attack may leave held before the next attack gets a fresh server. */
  private static final double LEFT_BEHIND = 4 << 20;
  /** Sampling inside the server: figures every 50 ms, live heap (forced GC) every second. */
  private static final String WATCH = "watch periodMs=50 gcEveryMs=1000";

  @Option(names = "--transports", split = ",", paramLabel = "T",
      converter = Scenario.TransportConverter.class,
      description = "Server transports, comma-separated: lean, netty, okhttp "
          + "(default: lean,netty).")
  List<Transport> transports;

  @Option(names = "--attacks", split = ",", paramLabel = "A", defaultValue = "all",
      description = "Attacks to run, comma-separated, or all (default: ${DEFAULT-VALUE}).")
  List<String> attackNames;

  @Option(names = "--connections", paramLabel = "K", defaultValue = "500",
      description = "Connections of half-open and connection-flood (default: ${DEFAULT-VALUE}).")
  int connections;

  @Option(names = "--streams", paramLabel = "M", defaultValue = "100",
      description = "Streams of slow-reader (default: ${DEFAULT-VALUE}).")
  int streams;

  @Option(names = "--duration", paramLabel = "S", defaultValue = "5",
      description = "Bound of each attack's active phase in seconds; the hold of slow-reader, "
          + "half-open and connection-flood (default: ${DEFAULT-VALUE}).")
  double durationSeconds;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Where attack.json and the logs go (default: bench/out/<timestamp>).")
  Path out;

  @Option(names = "--jvm-flags", paramLabel = "FLAGS", defaultValue = "-Xmx1g -XX:+UseG1GC",
      description = "Flags of every server JVM, space-separated (default: ${DEFAULT-VALUE}).")
  String jvmFlags;

  @Spec
  CommandSpec spec;

  /** One attack on one transport: what the attacker saw and the server's figures. */
  static final class Row {
    final Transport transport;
    final Attack attack;
    /** Which server JVM of this transport ran it (1, 2, ...), and whether it was new for it. */
    final int server;
    final boolean freshServer;
    long tookMillis;
    dev.grpclean.bench.attack.Outcome outcome;
    JsonObject settledBefore;
    JsonObject baseline;
    JsonObject height;
    JsonObject settledAfter;
    JsonObject sampling;
    JsonObject after;
    /** The Echo call after the attack. */
    EchoCheck.Result echo;
    /** Why the attack has no figures (the server JVM died or stopped answering). */
    String failure;

    Row(Transport transport, Attack attack, int server, boolean freshServer) {
      this.transport = transport;
      this.attack = attack;
      this.server = server;
      this.freshServer = freshServer;
    }
  }

  @Override
  public Integer call() throws BenchException {
    List<Attack> attacks = validate();
    Path dir = out != null ? out : Runner.defaultOutDir();
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new BenchException("cannot create the output directory " + dir + ": " + e);
    }
    PrintWriter stdout = spec.commandLine().getOut();
    Progress progress = new Progress(spec.commandLine().getErr(), System.console() != null);
    Rig rig = new Rig(jvmFlags(), dir.resolve("logs"), progress, null, null, t -> Security.INSECURE,
        t -> List.of(), null, null, null);
    long start = System.nanoTime();
    List<Row> rows = new ArrayList<>();
    try {
      for (Transport t : transports()) {
        runTransport(t, attacks, rig, rows);
      }
    } finally {
      progress.clear();
    }
    AttackReport report = new AttackReport(this, attacks, rows,
        Duration.ofNanos(System.nanoTime() - start));
    report.print(stdout);
    try {
      report.writeJson(dir.resolve("attack.json"));
    } catch (IOException e) {
      throw new BenchException("cannot write the results to " + dir + ": " + e);
    }
    stdout.println("results in " + dir.toAbsolutePath().normalize());
    stdout.flush();
    return 0;
  }

  List<Transport> transports() {
    return transports != null ? transports : List.of(Transport.LEAN, Transport.NETTY);
  }

  List<String> jvmFlags() {
    return Arrays.asList(jvmFlags.trim().split("\\s+"));
  }

  Duration duration() {
    return Duration.ofMillis(Math.round(durationSeconds * 1000));
  }

  /** Checks the options; returns the attacks in the order given (all: declaration order). */
  List<Attack> validate() {
    if (transports != null && transports.isEmpty()) {
      throw usage("--transports needs at least one transport");
    }
    if (transports != null && transports.stream().distinct().count() != transports.size()) {
      throw usage("--transports names a transport twice");
    }
    if (connections <= 0) {
      throw usage("--connections must be positive, not " + connections);
    }
    if (streams <= 0) {
      throw usage("--streams must be positive, not " + streams);
    }
    if (!(durationSeconds > 0 && durationSeconds <= 60)) {
      throw usage("--duration must be more than 0 and at most 60 seconds, not "
          + durationSeconds);
    }
    if (jvmFlags.isBlank()) {
      throw usage("--jvm-flags must not be empty");
    }
    Set<Attack> chosen = new LinkedHashSet<>();
    for (String name : attackNames) {
      if (name.trim().equalsIgnoreCase("all")) {
        chosen.addAll(Arrays.asList(Attack.values()));
        continue;
      }
      try {
        if (!chosen.add(Attack.parse(name))) {
          throw usage("--attacks names " + name.trim() + " twice");
        }
      } catch (IllegalArgumentException e) {
        throw usage(e.getMessage());
      }
    }
    if (chosen.isEmpty()) {
      throw usage("--attacks needs at least one attack");
    }
    return new ArrayList<>(chosen);
  }

  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  /**
   * Every attack on one transport. Attacks share a server JVM, except that a fresh one is
   * started for the attacks that measure per-connection cost and after an attack that left the
   * server changed (see {@link #needsFreshServer}).
   */
  private void runTransport(Transport t, List<Attack> attacks, Rig rig, List<Row> rows)
      throws BenchException {
    ChildJvm server = null;
    int servers = 0;
    Row previous = null;
    try {
      for (Attack a : attacks) {
        if (server != null && needsFreshServer(a, previous)) {
          server.close();
          server = null;
        }
        boolean fresh = server == null;
        if (fresh) {
          servers++;
          rig.begin("attack-" + t.id() + "-" + servers, "attack " + t.id() + ": ");
          server = rig.server(t);
          warmUp(server, rig);
        }
        Row row = new Row(t, a, servers, fresh);
        rows.add(row);
        previous = row;
        long start = System.nanoTime();
        try {
          runOne(server, row, rig);
        } catch (BenchException e) {
          // The server JVM died or stopped answering its control channel (ChildJvm killed it).
          row.failure = e.getMessage().split("\n", 2)[0];
          server.close();
          server = null;
        } finally {
          row.tookMillis = (System.nanoTime() - start) / 1_000_000;
        }
      }
    } finally {
      if (server != null) {
        server.close();
      }
    }
  }

  /**
   * A fresh server for an attack that opens many connections (its per-connection figures need a
   * baseline no earlier attack moved, RSS included), and after an attack that failed, left the
   * server not serving, or left more than {@link #LEFT_BEHIND} of heap or direct memory held.
   */
  static boolean needsFreshServer(Attack next, Row previous) {
    if (next.multiConnection()) {
      return true;
    }
    if (previous == null) {
      return false;
    }
    return previous.failure != null || previous.echo.failure != null
        || AttackReport.heapLive(previous.after) - AttackReport.heapLive(previous.baseline)
            > LEFT_BEHIND
        || AttackReport.direct(previous.after) - AttackReport.direct(previous.baseline)
            > LEFT_BEHIND;
  }

  /** A few ordinary calls, so class loading and the first call land before any baseline. */
  private static void warmUp(ChildJvm server, Rig rig) throws BenchException {
    rig.step("warming up");
    InetSocketAddress address = address(server);
    for (int i = 0; i < 3; i++) {
      EchoCheck.Result echo = EchoCheck.call(address, WARM_UP_TIMEOUT);
      if (echo.failure != null) {
        throw new BenchException("the fresh server does not answer an Echo call: "
            + echo.failure);
      }
    }
  }

  private void runOne(ChildJvm server, Row row, Rig rig) throws BenchException {
    String name = row.attack.id();
    InetSocketAddress address = address(server);
    rig.step(name + ": waiting for a quiet server, baseline (forced GC)");
    row.settledBefore = server.call(SETTLE, SETTLE_CONTROL);
    row.baseline = server.call("snapshot", CONTROL);
    server.call(WATCH, CONTROL);
    rig.step(name + ": attacking (at most " + durationSeconds + " s)");
    Attack.Run run = new Attack.Run(address, duration(), connections, streams, () -> {
      rig.step(name + ": measuring at the height (forced GC)");
      row.height = server.call("snapshot", CONTROL);
      rig.step(name + ": reading what is left");
    });
    try {
      row.outcome = row.attack.run(run);
    } catch (BenchException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("attack " + name + " failed", e);
    }
    // Sampling goes on until the server has finished with what the attack left it.
    rig.step(name + ": connections closed, waiting for a quiet server");
    row.settledAfter = server.call(SETTLE, SETTLE_CONTROL);
    row.sampling = server.call("unwatch", CONTROL);
    rig.step(name + ": after (forced GC)");
    row.after = server.call("snapshot", CONTROL);
    rig.step(name + ": does it still serve?");
    row.echo = EchoCheck.call(address, ECHO_TIMEOUT);
  }

  private static InetSocketAddress address(ChildJvm server) {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(),
        server.ready().get("port").getAsInt());
  }
}
