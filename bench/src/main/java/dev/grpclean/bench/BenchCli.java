package dev.grpclean.bench;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.io.OutputStreamWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The memory-usage benchmark: lean vs grpc-netty-shaded vs grpc-okhttp, client and server in
 * separate forked JVMs over loopback. With no arguments it runs the quick comparison (lean vs
 * netty: idle 1000 connections, unary 10 s, download 10 s) in about two minutes.
 *
 * <p>Exit status: 0 done, 1 a run failed (child JVM crashed, server unreachable, timeout),
 * 2 bad arguments.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, version = "grpc-lean bench 0.1",
    description = {
        "Measures what gRPC connections cost: lean vs netty vs okhttp, client and server in "
            + "separate JVMs.",
        "With no arguments: a quick compare of lean and netty (idle, unary, download), ~2 min.",
        "Syscalls per RPC or MiB (unary, stream, large): --syscalls procfs (default, free, blind "
            + "to recv*/send*), preload (an LD_PRELOAD library built with gcc counts every socket "
            + "read and write at full speed) or strace (every syscall, ~10x slower run)."},
    subcommands = {IdleScenario.class, UnaryScenario.class, DownloadScenario.class,
        StreamScenario.class, LargeScenario.class, TrickleScenario.class, AttackCommand.class,
        DoctorCommand.class})
public final class BenchCli implements Callable<Integer> {
  /** Every scenario by name, for {@code compare} and the quick comparison. */
  private static final Map<String, Supplier<Scenario>> SCENARIOS = new LinkedHashMap<>();

  static {
    SCENARIOS.put("idle", IdleScenario::new);
    SCENARIOS.put("unary", UnaryScenario::new);
    SCENARIOS.put("download", DownloadScenario::new);
    SCENARIOS.put("stream", StreamScenario::new);
    SCENARIOS.put("large", LargeScenario::new);
    SCENARIOS.put("trickle", TrickleScenario::new);
  }

  /** The quick comparison's scenarios, as command lines under {@code compare}. */
  static final List<List<String>> QUICK = List.of(
      List.of("idle", "--connections", "1000"),
      List.of("unary", "--duration", "10", "--warmup", "3"),
      List.of("download", "--duration", "10", "--warmup", "2"));

  @Spec
  CommandSpec spec;

  /** {@code compare SCENARIO ...}: the scenarios again, with comparison defaults. */
  @Command(name = "compare", mixinStandardHelpOptions = true,
      description = {"Runs a scenario on several transports interleaved (A B C A B C ...) and "
          + "prints medians, min–max spread and ratios against netty.",
          "Defaults: --transports lean,netty,okhttp --reps 3."})
  static final class Compare implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "compare needs a scenario: idle, unary, download, stream, large or trickle");
    }
  }

  public static void main(String[] args) {
    System.exit(run(new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8),
        true), new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true),
        args));
  }

  /** Runs the CLI with these streams and returns its exit status. */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    return commandLine(out, err).execute(args);
  }

  static CommandLine commandLine(PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new BenchCli());
    CommandLine compare = new CommandLine(new Compare());
    for (Supplier<Scenario> s : SCENARIOS.values()) {
      compare.addSubcommand(new CommandLine(s.get().underCompare()));
    }
    cl.addSubcommand("compare", compare);
    cl.setOut(out);
    cl.setErr(err);
    cl.setParameterExceptionHandler(BenchCli::usageError);
    cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      if (e instanceof BenchException) {
        commandLine.getErr().println("bench: " + e.getMessage());
        commandLine.getErr().flush();
        return 1;
      }
      throw e;
    });
    return cl;
  }

  /** A bad argument: the message, any "did you mean", then the usage; exit status 2. */
  private static int usageError(CommandLine.ParameterException e, String[] args) {
    CommandLine cl = e.getCommandLine();
    PrintWriter err = cl.getErr();
    err.println("bench: " + e.getMessage());
    CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
    err.println();
    cl.usage(err);
    err.flush();
    return cl.getCommandSpec().exitCodeOnInvalidInput();
  }

  /** No subcommand: the quick comparison of lean and netty. */
  @Override
  public Integer call() throws Exception {
    return Runner.run(spec.commandLine(), quickScenarios());
  }

  /** The quick comparison's scenarios, parsed and checked; all write to one directory. */
  static List<Scenario> quickScenarios() {
    List<Scenario> scenarios = new ArrayList<>();
    for (List<String> line : QUICK) {
      Scenario s = SCENARIOS.get(line.get(0)).get().underCompare();
      List<String> args = new ArrayList<>(line.subList(1, line.size()));
      args.addAll(List.of("--transports", "lean,netty", "--reps", "1"));
      new CommandLine(s).parseArgs(args.toArray(new String[0]));
      s.validateAll();
      scenarios.add(s);
    }
    return scenarios;
  }
}
