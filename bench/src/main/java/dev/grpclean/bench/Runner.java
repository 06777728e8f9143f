package dev.grpclean.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/**
 * Runs scenarios: for each, every transport in turn, rep after rep (A B C A B C ...), so a
 * slow spell on a shared machine hits every transport alike; then prints its table and writes
 * its JSON, CSV and charts.
 *
 * <p>Not thread-safe; one run at a time.
 */
final class Runner {
  private Runner() {}

  static int run(CommandLine cl, List<Scenario> scenarios) throws BenchException {
    Scenario first = scenarios.get(0);
    Path out = first.options.out != null ? first.options.out : defaultOutDir();
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new BenchException("cannot create the output directory " + out + ": " + e);
    }
    PrintWriter stdout = cl.getOut();
    Progress progress = new Progress(cl.getErr(), System.console() != null);
    try {
      for (Scenario s : scenarios) {
        List<RunResult> runs = runAll(s, out, progress);
        progress.clear();
        Report report = new Report(s, runs);
        report.printTable(stdout);
        stdout.flush();
        try {
          report.writeJson(out.resolve(s.name() + ".json"));
          report.writeCsv(out.resolve(s.name() + ".csv"));
          if (!s.options.noCharts) {
            Charts.write(report, out);
          }
        } catch (IOException e) {
          throw new BenchException("cannot write the results to " + out + ": " + e);
        }
      }
    } finally {
      progress.clear();
    }
    stdout.println("results in " + out.toAbsolutePath().normalize());
    stdout.flush();
    return 0;
  }

  private static List<RunResult> runAll(Scenario s, Path out, Progress progress)
      throws BenchException {
    Security security = s.security();
    List<Transport> transports = s.transports();
    boolean anyRuns = transports.stream().anyMatch(t -> s.unsupported(t) == null);
    Path keys = null;
    try {
      boolean altsRuns = transports.stream().anyMatch(t -> s.securityFor(t) == Security.ALTS_LIKE);
      if (altsRuns && anyRuns) {
        try {
          keys = Security.writeAltsLikeKeys();
        } catch (IOException | GeneralSecurityException e) {
          throw new BenchException("cannot write the alts_like keys: " + e);
        }
      }
      PreloadShim preload = null;
      if (s.preloadMode() && anyRuns) {
        progress.update(s.name() + ": compiling the syscall counting library");
        preload = PreloadShim.compile(s.ccBinary(), out.resolve("preload"));
      }
      Rig rig = new Rig(s.jvmFlags(), out.resolve("logs"), progress, s.options.fault,
          s.options.connectPort, s::securityFor, s::transportJvmFlags, keys, s.straceBinary(),
          preload);
      int total = s.reps() * transports.size();
      List<RunResult> runs = new ArrayList<>();
      int done = 0;
      for (int rep = 1; rep <= s.reps(); rep++) {
        for (Transport t : transports) {
          done++;
          String why = s.unsupported(t);
          if (why != null) {
            runs.add(RunResult.unsupported(t, rep, why));
            continue;
          }
          rig.begin(s.name() + "-" + t.id() + "-" + rep,
              s.name() + " " + done + "/" + total + " " + t.id() + ": ");
          runs.add(s.run(t, rep, rig));
        }
      }
      return runs;
    } finally {
      Security.deleteKeys(keys);
    }
  }

  static Path defaultOutDir() {
    String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    return Path.of("bench", "out", stamp);
  }
}
