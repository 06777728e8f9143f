package dev.grpclean.interop;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;
import javax.annotation.Nullable;

/**
 * Judges a soak server's samples ({@link SoakSample}): the run passes when, after warm-up, nothing
 * the server holds trends upward, and once the clients are gone its lean pools lease nothing and
 * no connection is left open.
 *
 * <p>The flatness rule. Only samples taken under load count: calls started both in the interval
 * before the sample and in the one after it (the server counts calls), so the samples before the
 * clients connect and after they finish, lower by nature, can neither pass for a baseline nor
 * hide growth. Of those N samples the first {@code max(minWarmup, ceil(N * warmupFraction))} are
 * warm-up (class loading, JIT, the pools and grpc's thread pools filling); of the M judged ones
 * that remain (at least {@code minJudged}), take the first third A and the last third C, {@code
 * floor(M / 3)} samples each. For each metric, growth = min(C) - min(A) must not exceed its slack:
 * the larger of an absolute amount and a fraction of min(A). Floors, not maxima or means: a leak
 * raises every later sample, the lowest of C included, while what is in flight when a sample is
 * taken (a 1 MiB upload being assembled, 2 MiB of responses queued for a stream about to be
 * cancelled, a burst of leases) raises single samples by megabytes and falls back by the next
 * one. A rule on maxima failed healthy runs on such a peak landing in C and not in A (a 60 s run
 * judges three samples per third); the floor of each third is the figure such transients cannot
 * move. A leak smaller than the slack over the run passes, by design: the long form puts A and C
 * further apart, so the same slack catches slower leaks.
 *
 * <p>The idle rule. The idle sample, taken after the clients left and the connections drained,
 * must show at most {@code idleLeasedBytes} leased (0 by default: the project's invariant that an
 * idle process leases nothing, as {@code LeanMemoryInvariantTest} asserts) and no connection
 * still open.
 *
 * <p>The metrics are the figures a leak would raise, each net of what is judged otherwise or
 * bounded by design. The lean pools' buffers in use are judged as leased bytes (under load and at
 * idle), and the free ones they keep are capped (8 MiB direct, 16 MiB heap by default) but fill
 * towards the cap at their own pace; so the heap and direct figures are judged without the heap
 * and I/O pool's buffers respectively. A file descriptor held by an open connection is the
 * workload's, not a leak, so file descriptors are judged net of open connections.
 *
 * <p>Thread-compatible; {@link #main} runs on the calling thread.
 */
final class SoakJudge {
  private static final long MIB = 1024 * 1024;
  private static final int EXIT_FAILED = 1;

  /** The rule's parameters: warm-up, the idle bound, and the judged metrics with their slack. */
  record Criteria(
      double warmupFraction, int minWarmup, int minJudged, long idleLeasedBytes,
      List<Metric> metrics) {
    /**
     * The defaults. Each slack is many times the drift a healthy run shows between the floors of
     * its thirds (5 minutes of {@code scripts/soak} on a shared 2-core machine: heap net of the
     * pool within 0.4 MiB, while single samples rose up to 4.1 MiB above it with what was in
     * flight; direct memory net of the pool within 0.1 MiB, leased bytes within 2.6 MiB, threads
     * within 4, file descriptors net of connections within 0), so that a run on a slower or
     * busier machine still passes. Heap
     * and direct figures move with what is in flight outside the pools when the GC runs, leased
     * bytes with the frames in flight, threads with grpc's cached executors (an idle thread
     * lives 60 s), file descriptors with the few a JVM opens for its own purposes. Leased bytes
     * are judged under load as well as at idle: leases a long-lived connection kept until it
     * closed would pass the idle rule, but grow here.
     */
    static Criteria defaults() {
      return new Criteria(0.25, 2, 3, 0, List.of(
          new Metric("heap after GC, excl. heap pool", true, 4 * MIB, 0.10, s -> true,
              s -> s.heapUsedBytes() - s.heapPooledBytes() - s.heapLeasedBytes()),
          new Metric("direct memory, excl. direct pools", true, 4 * MIB, 0.10,
              s -> s.directBytes() >= 0,
              s -> s.directBytes() - s.ioPooledBytes() - s.ioLeasedBytes()),
          new Metric("lean leased bytes", true, 8 * MIB, 0.10, s -> true,
              SoakSample::leasedBytes),
          new Metric("threads", false, 8, 0.10, s -> true, SoakSample::threads),
          new Metric("fds, excl. connections", false, 8, 0.10, s -> s.fds() >= 0,
              s -> s.fds() - s.connections())));
    }
  }

  /**
   * One judged figure: growth may be up to {@code absoluteSlack} or {@code relativeSlack} times the
   * baseline, whichever is larger. Not judged unless {@code available} for every judged sample
   * (the platform may have no such figure).
   */
  record Metric(
      String name, boolean bytes, long absoluteSlack, double relativeSlack,
      Predicate<SoakSample> available, ToLongFunction<SoakSample> value) {
    String format(long v) {
      return bytes ? String.format(Locale.ROOT, "%.1f MiB", v / (double) MIB) : Long.toString(v);
    }
  }

  /** A metric's figures over the judged samples. */
  record Trend(Metric metric, long baseline, long last, long allowed, double slopePerMinute,
      boolean available) {
    boolean flat() {
      return !available || last - baseline <= allowed;
    }

    String line() {
      if (!available) {
        return String.format(Locale.ROOT, "%-32s n/a on this platform", metric.name());
      }
      long growth = last - baseline;
      return String.format(Locale.ROOT,
          "%-32s first-third min %s, last-third min %s: %s%s (allowed +%s; slope %s%s/min)  %s",
          metric.name(), metric.format(baseline), metric.format(last), growth >= 0 ? "+" : "-",
          metric.format(Math.abs(growth)), metric.format(allowed),
          slopePerMinute >= 0 ? "+" : "-", formatSlope(Math.abs(slopePerMinute)),
          flat() ? "ok" : "GROWING");
    }

    private String formatSlope(double perMinute) {
      return metric.bytes()
          ? String.format(Locale.ROOT, "%.2f MiB", perMinute / MIB)
          : String.format(Locale.ROOT, "%.2f", perMinute);
    }
  }

  /** The outcome: pass or fail, the reasons for a failure, and the report to print. */
  record Verdict(boolean pass, List<String> failures, List<Trend> trends, String report) {}

  private SoakJudge() {}

  public static void main(String[] args) {
    Path samplesFile;
    Criteria criteria = Criteria.defaults();
    try {
      Flags flags = Flags.parse(args, Set.of("samples_file", "idle_leased_bytes"));
      if (!flags.has("samples_file")) {
        throw new Flags.UsageException("--samples_file is required");
      }
      samplesFile = Path.of(flags.string("samples_file", ""));
      int idleBound = flags.integer("idle_leased_bytes", 0);
      criteria = new Criteria(criteria.warmupFraction(), criteria.minWarmup(),
          criteria.minJudged(), idleBound, criteria.metrics());
    } catch (Flags.UsageException e) {
      System.err.println((e.getMessage() == null ? "" : e.getMessage() + "\n")
          + "Usage: soak-judge --samples_file=PATH [--idle_leased_bytes=N (0)]");
      System.exit(e.getMessage() == null ? 0 : InteropServer.EXIT_USAGE);
      return;
    }
    List<SoakSample> samples;
    try {
      samples = SoakSample.parseAll(Files.readAllLines(samplesFile, StandardCharsets.UTF_8));
    } catch (IOException | IllegalArgumentException e) {
      System.out.println("FAIL: " + samplesFile + ": " + e.getMessage());
      System.exit(EXIT_FAILED);
      return;
    }
    Verdict verdict = judge(samples, criteria);
    System.out.print(verdict.report());
    System.exit(verdict.pass() ? 0 : EXIT_FAILED);
  }

  static Verdict judge(List<SoakSample> samples, Criteria criteria) {
    List<SoakSample> periodic = new ArrayList<>();
    SoakSample idle = null;
    for (SoakSample s : samples) {
      if (s.kind() == SoakSample.Kind.PERIODIC) {
        periodic.add(s);
      } else {
        idle = s;
      }
    }
    List<SoakSample> loaded = underLoad(periodic);
    int n = loaded.size();
    int warmup = Math.max(criteria.minWarmup(), (int) Math.ceil(n * criteria.warmupFraction()));
    int judged = Math.max(0, n - warmup);
    int third = judged / 3;
    List<String> failures = new ArrayList<>();
    List<Trend> trends = new ArrayList<>();
    int minJudged = Math.max(3, criteria.minJudged());
    if (judged < minJudged) {
      failures.add("too few samples under load: " + n + " of " + periodic.size() + ", " + warmup
          + " of them warm-up, need " + minJudged + " more (run longer or sample more often)");
    } else {
      List<SoakSample> first = loaded.subList(warmup, warmup + third);
      List<SoakSample> last = loaded.subList(n - third, n);
      List<SoakSample> all = loaded.subList(warmup, n);
      for (Metric metric : criteria.metrics()) {
        Trend trend = trend(metric, first, last, all);
        trends.add(trend);
        if (!trend.flat()) {
          failures.add(metric.name() + " grew by "
              + metric.format(trend.last() - trend.baseline()) + " after warm-up, more than +"
              + metric.format(trend.allowed()));
        }
      }
    }
    if (idle == null) {
      failures.add("no idle sample: the server did not shut down in order");
    } else {
      if (idle.leasedBytes() > criteria.idleLeasedBytes()) {
        failures.add("at idle the lean pools still lease " + idle.leasedBytes() + " bytes in "
            + idle.leases() + " leases (bound " + criteria.idleLeasedBytes() + ")");
      }
      if (idle.connections() != 0) {
        failures.add(idle.connections() + " connections still open at idle, with every client"
            + " gone");
      }
    }
    String report =
        report(periodic, loaded, warmup, third, idle, trends, criteria, failures);
    return new Verdict(failures.isEmpty(), failures, trends, report);
  }

  /**
   * The periodic samples taken while the load ran: calls started both in the interval before the
   * sample and in the one after it. The samples before the clients connected and after they
   * finished would otherwise pass for a flat (or falling) tail.
   */
  static List<SoakSample> underLoad(List<SoakSample> periodic) {
    List<SoakSample> loaded = new ArrayList<>();
    for (int i = 0; i + 1 < periodic.size(); i++) {
      long before = periodic.get(i).callsTotal() - (i == 0 ? 0 : periodic.get(i - 1).callsTotal());
      long after = periodic.get(i + 1).callsTotal() - periodic.get(i).callsTotal();
      if (before > 0 && after > 0) {
        loaded.add(periodic.get(i));
      }
    }
    return loaded;
  }

  private static Trend trend(
      Metric metric, List<SoakSample> first, List<SoakSample> last, List<SoakSample> all) {
    ToLongFunction<SoakSample> f = metric.value();
    if (!all.stream().allMatch(metric.available())) {
      return new Trend(metric, 0, 0, 0, 0, false);
    }
    long baseline = first.stream().mapToLong(f).min().orElseThrow();
    long lastFloor = last.stream().mapToLong(f).min().orElseThrow();
    long allowed = Math.max(metric.absoluteSlack(), (long) (metric.relativeSlack() * baseline));
    return new Trend(metric, baseline, lastFloor, allowed, slopePerMinute(all, f), true);
  }

  /** Least-squares slope of the metric over time, informational only. */
  private static double slopePerMinute(List<SoakSample> samples, ToLongFunction<SoakSample> f) {
    double n = samples.size();
    double meanT = samples.stream().mapToDouble(SoakSample::uptimeSeconds).sum() / n;
    double meanV = samples.stream().mapToDouble(f::applyAsLong).sum() / n;
    double num = 0;
    double den = 0;
    for (SoakSample s : samples) {
      double dt = s.uptimeSeconds() - meanT;
      num += dt * (f.applyAsLong(s) - meanV);
      den += dt * dt;
    }
    return den == 0 ? 0 : num / den * 60;
  }

  private static String report(List<SoakSample> periodic, List<SoakSample> loaded, int warmup,
      int third, SoakSample idle, List<Trend> trends, Criteria criteria, List<String> failures) {
    StringBuilder r = new StringBuilder();
    r.append(String.format(Locale.ROOT,
        "%4s %7s %-5s %8s %9s %9s %9s %9s %10s %7s %6s %5s %6s%n", "#", "t(s)", "phase",
        "calls/s", "heap MiB", "hpool MiB", "dir MiB", "iopool MiB", "leased KiB", "threads",
        "fds", "conns", "total"));
    int n = loaded.size();
    for (int i = 0; i < periodic.size(); i++) {
      SoakSample s = periodic.get(i);
      int j = loaded.indexOf(s);
      String phase = j < 0 ? "-"
          : j < warmup ? "warm"
          : third > 0 && j < warmup + third ? "A"
          : third > 0 && j >= n - third ? "C"
          : "B";
      r.append(row(i + 1, s, i == 0 ? null : periodic.get(i - 1), phase));
    }
    if (idle != null) {
      r.append(row(periodic.size() + 1, idle, null, "idle"));
    }
    r.append("heap: used after a forced GC; hpool/iopool: free buffers the lean heap/I/O pools"
        + " keep; phase: - no load, warm, then A B C the thirds after warm-up\n");
    for (Trend trend : trends) {
      r.append(trend.line()).append('\n');
    }
    if (idle != null) {
      r.append(String.format(Locale.ROOT,
          "idle: leased %d bytes in %d leases (bound %d), %d connections open  %s%n",
          idle.leasedBytes(), idle.leases(), criteria.idleLeasedBytes(), idle.connections(),
          idle.leasedBytes() <= criteria.idleLeasedBytes() && idle.connections() == 0
              ? "ok" : "NOT IDLE"));
    }
    for (String failure : failures) {
      r.append("FAIL: ").append(failure).append('\n');
    }
    r.append(failures.isEmpty()
        ? "PASS: flat after warm-up (" + n + " samples under load, " + warmup + " of them"
            + " warm-up) and nothing leased at idle\n"
        : "FAIL: " + failures.size() + " problem(s)\n");
    return r.toString();
  }

  private static String row(
      int index, SoakSample s, @Nullable SoakSample previous, String phase) {
    String rate = "";
    if (s.kind() == SoakSample.Kind.PERIODIC) {
      double seconds = s.uptimeSeconds() - (previous == null ? 0 : previous.uptimeSeconds());
      long calls = s.callsTotal() - (previous == null ? 0 : previous.callsTotal());
      rate = seconds <= 0 ? "?" : String.format(Locale.ROOT, "%.0f", calls / seconds);
    }
    return String.format(Locale.ROOT,
        "%4d %7.1f %-5s %8s %9.1f %9.1f %9.1f %9.1f %10.1f %7d %6d %5d %6d%n", index,
        s.uptimeSeconds(), phase, rate, s.heapUsedBytes() / (double) MIB,
        s.heapPooledBytes() / (double) MIB, s.directBytes() / (double) MIB,
        s.ioPooledBytes() / (double) MIB, s.leasedBytes() / 1024.0, s.threads(), s.fds(),
        s.connections(), s.connectionsTotal());
  }
}
