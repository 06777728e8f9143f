package dev.grpclean.bench;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results of one scenario over all its runs: per transport and figure the median, min and
 * max, and the ratio of medians against netty; printed as a table and written as JSON and CSV.
 *
 * <p>Immutable after construction.
 */
final class Report {
  /** Median, min and max of one figure on one transport; null where it was not measured. */
  static final class Stats {
    final double median;
    final double min;
    final double max;
    final List<Double> values;

    Stats(List<Double> values) {
      List<Double> sorted = new ArrayList<>(values);
      Collections.sort(sorted);
      int n = sorted.size();
      this.median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
      this.min = sorted.get(0);
      this.max = sorted.get(n - 1);
      this.values = List.copyOf(values);
    }
  }

  final Scenario scenario;
  final List<Transport> transports;
  final List<RunResult> runs;

  Report(Scenario scenario, List<RunResult> runs) {
    this.scenario = scenario;
    this.transports = scenario.transports();
    this.runs = runs;
  }

  Stats stats(Transport t, Metric m) {
    List<Double> values = new ArrayList<>();
    for (RunResult r : runs) {
      Double v = r.values.get(m.key);
      if (r.transport == t && v != null && !v.isNaN()) {
        values.add(v);
      }
    }
    return values.isEmpty() ? null : new Stats(values);
  }

  /** median(t) / median(netty), or NaN when either is missing or netty's is zero. */
  double ratioToNetty(Transport t, Metric m) {
    Stats mine = stats(t, m);
    Stats netty = transports.contains(Transport.NETTY) ? stats(Transport.NETTY, m) : null;
    if (mine == null || netty == null || netty.median == 0) {
      return Double.NaN;
    }
    return mine.median / netty.median;
  }

  /** Why {@code t} did not run (the security mode), or null when it ran. */
  String unsupported(Transport t) {
    for (RunResult r : runs) {
      if (r.transport == t && r.unsupported != null) {
        return r.unsupported;
      }
    }
    return null;
  }

  String heading() {
    StringBuilder b = new StringBuilder("== ").append(scenario.name());
    for (Map.Entry<String, Object> e : scenario.params().entrySet()) {
      b.append(" ").append(e.getKey()).append('=').append(e.getValue());
    }
    b.append(" security=").append(scenario.security().id());
    if (scenario.referenceSecurity() != null) {
      b.append(" reference-security=").append(scenario.referenceSecurity().id());
    }
    if (scenario.options.tlsProvider != null) {
      b.append(" lean-tls-provider=").append(scenario.options.tlsProvider);
    }
    if (scenario.countsSyscalls()) {
      b.append(" syscalls=").append(scenario.options.syscalls);
    }
    return b.append("  reps=").append(scenario.reps())
        // The child JVMs run the bench's own java (ChildJvm), so its version is theirs.
        .append("  jvm: java ").append(Runtime.version().feature()).append(' ')
        .append(String.join(" ", scenario.jvmFlags())).append(" ==").toString();
  }

  void printTable(PrintWriter out) {
    boolean ratios = transports.contains(Transport.NETTY) && transports.size() > 1;
    List<String[]> rows = new ArrayList<>();
    List<String> header = new ArrayList<>(List.of("metric"));
    for (Transport t : transports) {
      header.add(t.id());
      if (ratios && t != Transport.NETTY) {
        header.add("/netty");
      }
    }
    rows.add(header.toArray(new String[0]));
    for (Metric m : scenario.metrics()) {
      List<String> row = new ArrayList<>(List.of(m.heading()));
      boolean any = false;
      for (Transport t : transports) {
        Stats s = stats(t, m);
        any |= s != null;
        row.add(s != null ? cell(m, s) : unsupported(t) != null ? "unsupported" : "-");
        if (ratios && t != Transport.NETTY) {
          double r = ratioToNetty(t, m);
          row.add(Double.isNaN(r) ? "" : String.format(Locale.ROOT, "%.2f×", r));
        }
      }
      if (any) {
        rows.add(row.toArray(new String[0]));
      }
    }
    int[] widths = new int[rows.get(0).length];
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    out.println();
    out.println(heading());
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.length; i++) {
        String pad = " ".repeat(widths[i] - row[i].length());
        line.append(i == 0 ? row[i] + pad : "  " + pad + row[i]);
      }
      out.println(line.toString().stripTrailing());
    }
    if (rows.size() == 1) {
      out.println("(no figures: no transport ran)");
    }
    if (scenario.reps() > 1) {
      out.println("(median of " + scenario.reps() + " runs, min–max in brackets)");
    }
    for (Transport t : transports) {
      String why = unsupported(t);
      if (why != null) {
        out.println(t.id() + ": unsupported with --security " + scenario.security().id()
            + ": " + why);
      }
    }
  }

  private static String cell(Metric m, Stats s) {
    String median = Metric.format(m.display(s.median));
    if (s.values.size() == 1) {
      return median;
    }
    return median + " [" + Metric.format(m.display(s.min)) + "–"
        + Metric.format(m.display(s.max)) + "]";
  }

  JsonObject toJson() {
    JsonObject o = new JsonObject();
    o.addProperty("scenario", scenario.name());
    JsonObject params = new JsonObject();
    scenario.params().forEach((k, v) -> params.addProperty(k, String.valueOf(v)));
    o.add("params", params);
    o.addProperty("reps", scenario.reps());
    o.addProperty("security", scenario.security().id());
    if (scenario.referenceSecurity() != null) {
      o.addProperty("referenceSecurity", scenario.referenceSecurity().id());
    }
    if (scenario.countsSyscalls()) {
      o.addProperty("syscalls", scenario.options.syscalls);
    }
    if (scenario.options.tlsProvider != null) {
      o.addProperty("leanTlsProvider", scenario.options.tlsProvider);
    }
    JsonArray flags = new JsonArray();
    scenario.jvmFlags().forEach(flags::add);
    o.add("jvmFlags", flags);
    o.addProperty("finishedAt", Instant.now().toString());
    o.addProperty("java", System.getProperty("java.vm.name") + " "
        + System.getProperty("java.runtime.version"));
    o.addProperty("cores", Runtime.getRuntime().availableProcessors());
    JsonArray metrics = new JsonArray();
    JsonObject summary = new JsonObject();
    for (Metric m : scenario.metrics()) {
      JsonObject d = new JsonObject();
      d.addProperty("key", m.key);
      d.addProperty("label", m.label);
      d.addProperty("displayUnit", m.unit.label);
      d.addProperty("displayScale", m.unit.scale);
      metrics.add(d);
    }
    JsonObject unsupported = new JsonObject();
    for (Transport t : transports) {
      if (unsupported(t) != null) {
        unsupported.addProperty(t.id(), unsupported(t));
      }
      JsonObject byMetric = new JsonObject();
      for (Metric m : scenario.metrics()) {
        Stats s = stats(t, m);
        if (s != null) {
          JsonObject st = new JsonObject();
          st.addProperty("median", s.median);
          st.addProperty("min", s.min);
          st.addProperty("max", s.max);
          double r = ratioToNetty(t, m);
          if (!Double.isNaN(r)) {
            st.addProperty("ratioToNetty", r);
          }
          byMetric.add(m.key, st);
        }
      }
      summary.add(t.id(), byMetric);
    }
    o.add("metrics", metrics);
    o.add("summary", summary);
    o.add("unsupported", unsupported);
    JsonArray runArray = new JsonArray();
    for (RunResult r : runs) {
      JsonObject run = new JsonObject();
      run.addProperty("transport", r.transport.id());
      run.addProperty("rep", r.rep);
      if (r.unsupported != null) {
        run.addProperty("unsupported", r.unsupported);
      }
      JsonObject values = new JsonObject();
      r.values.forEach(values::addProperty);
      run.add("values", values);
      JsonObject series = new JsonObject();
      r.series.forEach((name, xy) -> {
        JsonObject s = new JsonObject();
        JsonArray x = new JsonArray();
        JsonArray y = new JsonArray();
        for (int i = 0; i < xy[0].length; i++) {
          x.add(xy[0][i]);
          y.add(xy[1][i]);
        }
        s.add("x", x);
        s.add("y", y);
        series.add(name, s);
      });
      run.add("series", series);
      run.add("raw", r.raw);
      runArray.add(run);
    }
    o.add("runs", runArray);
    return o;
  }

  void writeJson(Path file) throws IOException {
    Files.writeString(file,
        new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create()
            .toJson(toJson()) + "\n", StandardCharsets.UTF_8);
  }

  /** One row per run and figure, in base units: scenario,transport,rep,metric,unit,value. */
  void writeCsv(Path file) throws IOException {
    StringBuilder b = new StringBuilder("scenario,transport,rep,metric,base_unit,value\n");
    for (RunResult r : runs) {
      for (Metric m : scenario.metrics()) {
        Double v = r.values.get(m.key);
        if (v != null) {
          b.append(scenario.name()).append(',').append(r.transport.id()).append(',')
              .append(r.rep).append(',').append(m.key).append(',').append(baseUnit(m))
              .append(',').append(v).append('\n');
        }
      }
    }
    Files.writeString(file, b.toString(), StandardCharsets.UTF_8);
  }

  private static String baseUnit(Metric m) {
    switch (m.unit) {
      case KIB:
      case MIB:
        return "bytes";
      case MICROS:
        return "microseconds";
      case MIB_PER_SECOND:
        return "MiB/s";
      case PER_SECOND:
        return "per_second";
      case RATIO:
        return "ratio";
      default:
        return "count";
    }
  }
}
