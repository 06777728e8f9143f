package dev.grpclean.bench;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.grpclean.bench.attack.Attack;
import dev.grpclean.bench.attack.Outcome;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The results of {@code attack}: two tables on stdout, attack × transport, one of what the
 * server answered and one of what it cost (MiB, baseline → peak → after), and
 * {@code attack.json} with everything, the raw snapshots included.
 *
 * <p>Immutable after construction.
 */
final class AttackReport {
  private static final double MIB = 1 << 20;

  private final AttackCommand command;
  private final List<Attack> attacks;
  private final List<AttackCommand.Row> rows;
  private final Duration took;

  AttackReport(AttackCommand command, List<Attack> attacks, List<AttackCommand.Row> rows,
      Duration took) {
    this.command = command;
    this.attacks = List.copyOf(attacks);
    List<AttackCommand.Row> sorted = new ArrayList<>(rows);
    List<Transport> transports = command.transports();
    sorted.sort(Comparator.<AttackCommand.Row>comparingInt(r -> attacks.indexOf(r.attack))
        .thenComparingInt(r -> transports.indexOf(r.transport)));
    this.rows = sorted;
    this.took = took;
  }

  String heading() {
    long s = took.toSeconds();
    return String.format(Locale.ROOT, "== attack duration=%ss connections=%d streams=%d  "
            + "jvm: %s  (took %d:%02d) ==", Metric.format(command.durationSeconds),
        command.connections, command.streams, String.join(" ", command.jvmFlags()), s / 60,
        s % 60);
  }

  void print(PrintWriter out) {
    out.println();
    out.println(heading());
    List<String[]> answers = new ArrayList<>();
    answers.add(new String[] {"attack", "transport", "server's response", "connection",
        "frames sent", "serves after", "note"});
    for (AttackCommand.Row r : rows) {
      if (r.failure != null) {
        answers.add(new String[] {r.attack.id(), r.transport.id(), "run failed: " + r.failure,
            "-", "-", "-", "-"});
        continue;
      }
      Outcome o = r.outcome;
      answers.add(new String[] {r.attack.id(), r.transport.id(), o.response(), o.closed(),
          o.framesCell(), servesCell(r.echo), o.note()});
    }
    table(out, answers);
    out.println();
    out.println("server memory, MiB: baseline → peak → after (heap = used after forced GC; "
        + "pool = lean leased / netty arena used)");
    List<String[]> memory = new ArrayList<>();
    memory.add(new String[] {"attack", "transport", "heap", "direct", "RSS",
        "pool in use: peak → after (kept)", "CPU", "at height / conn"});
    for (AttackCommand.Row r : rows) {
      if (r.failure != null) {
        memory.add(new String[] {r.attack.id(), r.transport.id(), "-", "-", "-", "-", "-", "-"});
        continue;
      }
      memory.add(new String[] {r.attack.id(), r.transport.id(),
          triple(heapLive(r.baseline), heapPeak(r), heapLive(r.after)),
          triple(direct(r.baseline), directPeak(r), direct(r.after)),
          triple(rss(r.baseline), rssPeak(r), rss(r.after)),
          poolCell(r),
          String.format(Locale.ROOT, "%,d ms", cpuMillis(r)),
          perConnection(r)});
    }
    table(out, memory);
    List<String> fresh = new ArrayList<>();
    for (AttackCommand.Row r : rows) {
      if (r.freshServer) {
        fresh.add(r.transport.id() + " " + r.attack.id());
      }
    }
    out.println("a fresh server JVM for: " + String.join(", ", fresh)
        + " (the others ran on the JVM of the attack before)");
    out.println();
    out.println("attacks (each at most " + Metric.format(command.durationSeconds)
        + " s; K=" + command.connections + ", M=" + command.streams + "):");
    for (Attack a : attacks) {
      out.println("  " + a.id() + ": " + a.description());
    }
  }

  // ---------------------------------------------------------------- figures

  static double heapLive(JsonObject snapshot) {
    return Snapshots.value(snapshot, "heapUsed");
  }

  /** Live heap at the peak: the highest forced-GC sample, or the height snapshot's. */
  static double heapPeak(AttackCommand.Row r) {
    return Math.max(peak(r, "liveHeap"), heapLive(r.height));
  }

  static double direct(JsonObject snapshot) {
    return Snapshots.value(snapshot, "directUsed")
        + Snapshots.value(snapshot, "nettyNoCleanerDirect");
  }

  static double directPeak(AttackCommand.Row r) {
    return Math.max(peak(r, "directTotal"), direct(r.height));
  }

  static double rss(JsonObject snapshot) {
    return Snapshots.value(snapshot, "rss");
  }

  static double rssPeak(AttackCommand.Row r) {
    return Math.max(peak(r, "rss"), rss(r.height));
  }

  /** Lean's leased bytes or Netty's arena bytes in use at the peak; -1 for other transports. */
  static double poolPeak(AttackCommand.Row r) {
    String field = poolField(r.transport);
    return field == null ? -1 : Math.max(peak(r, field), Snapshots.value(r.height, field));
  }

  private static String poolField(Transport t) {
    switch (t) {
      case LEAN:
      case LEAN_NO_COUNTERS:
      case LEAN_JDK_SERVER:
      case LEAN_CONSCRYPT_SERVER:
      case LEAN_JCA_KEYS:
        return "leanLeasedBytes";
      case NETTY:
        return "nettyPoolUsedBytes";
      default:
        return null;
    }
  }

  /** Leased (lean) or arena bytes in use (netty), peak → after, and what the pool kept. */
  private static String poolCell(AttackCommand.Row r) {
    String field = poolField(r.transport);
    if (field == null) {
      return "-";
    }
    return bytes(poolPeak(r)) + " → " + bytes(Snapshots.value(r.after, field)) + " ("
        + bytes(poolKept(r.transport, r.after)) + ")";
  }

  /** Memory the transport's pool holds: lean's pooled buffers, Netty's arena chunks. */
  static double poolKept(Transport t, JsonObject snapshot) {
    return t.isLean() ? Snapshots.value(snapshot, "leanPooledBytes")
        : Snapshots.value(snapshot, "nettyPoolDirect") + Snapshots.value(snapshot, "nettyPoolHeap");
  }

  private static String servesCell(dev.grpclean.bench.attack.EchoCheck.Result echo) {
    if (echo.failure != null) {
      return "NO: " + echo.failure;
    }
    return echo.millis < 1000 ? "yes" : "yes, in " + Metric.format(echo.millis / 1000.0) + " s";
  }

  static long cpuMillis(AttackCommand.Row r) {
    return Math.round(Snapshots.value(r.sampling, "cpuNanos") / 1e6);
  }

  private static double peak(AttackCommand.Row r, String field) {
    JsonElement peaks = r.sampling == null ? null : r.sampling.get("peaks");
    return peaks == null ? 0 : Snapshots.value(peaks.getAsJsonObject(), field);
  }

  /** Height minus baseline per connection, for the attacks that open many. */
  private static String perConnection(AttackCommand.Row r) {
    if (!r.attack.multiConnection() || r.outcome.connections() == 0) {
      return "-";
    }
    double n = r.outcome.connections();
    return "heap " + bytes((heapLive(r.height) - heapLive(r.baseline)) / n)
        + ", direct " + bytes((direct(r.height) - direct(r.baseline)) / n)
        + ", RSS " + bytes((rss(r.height) - rss(r.baseline)) / n);
  }

  private static String triple(double baseline, double peak, double after) {
    return mib(baseline) + " → " + mib(peak) + " → " + mib(after);
  }

  private static String mib(double bytes) {
    return String.format(Locale.ROOT, "%.1f", bytes / MIB);
  }

  /** Bytes in KiB below a MiB, else MiB. */
  static String bytes(double bytes) {
    return Math.abs(bytes) < MIB
        ? Metric.format(bytes / 1024) + " KiB" : Metric.format(bytes / MIB) + " MiB";
  }

  private static void table(PrintWriter out, List<String[]> rows) {
    int[] widths = new int[rows.get(0).length];
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.length; i++) {
        line.append(i == 0 ? "" : "  ").append(row[i])
            .append(" ".repeat(widths[i] - row[i].length()));
      }
      out.println(line.toString().stripTrailing());
    }
  }

  // ---------------------------------------------------------------- JSON

  JsonObject toJson() {
    JsonObject o = new JsonObject();
    o.addProperty("command", "attack");
    JsonObject params = new JsonObject();
    params.addProperty("durationSeconds", command.durationSeconds);
    params.addProperty("connections", command.connections);
    params.addProperty("streams", command.streams);
    JsonArray transports = new JsonArray();
    command.transports().forEach(t -> transports.add(t.id()));
    params.add("transports", transports);
    o.add("params", params);
    JsonArray flags = new JsonArray();
    command.jvmFlags().forEach(flags::add);
    o.add("jvmFlags", flags);
    o.addProperty("finishedAt", Instant.now().toString());
    o.addProperty("tookSeconds", took.toMillis() / 1000.0);
    o.addProperty("java", System.getProperty("java.vm.name") + " "
        + System.getProperty("java.runtime.version"));
    o.addProperty("cores", Runtime.getRuntime().availableProcessors());
    JsonArray attackArray = new JsonArray();
    for (Attack a : attacks) {
      JsonObject j = new JsonObject();
      j.addProperty("id", a.id());
      j.addProperty("description", a.description());
      attackArray.add(j);
    }
    o.add("attacks", attackArray);
    JsonArray results = new JsonArray();
    for (AttackCommand.Row r : rows) {
      JsonObject j = new JsonObject();
      j.addProperty("attack", r.attack.id());
      j.addProperty("transport", r.transport.id());
      j.addProperty("serverJvm", r.server);
      j.addProperty("freshServerJvm", r.freshServer);
      j.addProperty("tookMs", r.tookMillis);
      if (r.failure != null) {
        j.addProperty("failure", r.failure);
        results.add(j);
        continue;
      }
      j.add("outcome", r.outcome.toJson());
      j.addProperty("servesAfter", r.echo.failure == null);
      j.addProperty("echoAfterMs", r.echo.millis);
      if (r.echo.failure != null) {
        j.addProperty("notServing", r.echo.failure);
      }
      JsonObject memory = new JsonObject();
      memory.add("heapLive", figure(heapLive(r.baseline), heapPeak(r), heapLive(r.after)));
      memory.add("direct", figure(direct(r.baseline), directPeak(r), direct(r.after)));
      memory.add("rss", figure(rss(r.baseline), rssPeak(r), rss(r.after)));
      String pool = poolField(r.transport);
      if (pool != null) {
        memory.add(pool, figure(Snapshots.value(r.baseline, pool), poolPeak(r),
            Snapshots.value(r.after, pool)));
        memory.add("poolKept", figure(poolKept(r.transport, r.baseline),
            Math.max(poolKept(r.transport, r.height), poolKept(r.transport, r.after)),
            poolKept(r.transport, r.after)));
      }
      memory.addProperty("cpuMillis", cpuMillis(r));
      j.add("memory", memory);
      JsonObject raw = new JsonObject();
      raw.add("baseline", r.baseline);
      raw.add("height", r.height);
      raw.add("sampling", r.sampling);
      raw.add("after", r.after);
      raw.add("settledBefore", r.settledBefore);
      raw.add("settledAfter", r.settledAfter);
      j.add("raw", raw);
      results.add(j);
    }
    o.add("results", results);
    return o;
  }

  private static JsonObject figure(double baseline, double peak, double after) {
    JsonObject f = new JsonObject();
    f.addProperty("baseline", baseline);
    f.addProperty("peak", peak);
    f.addProperty("after", after);
    return f;
  }

  void writeJson(Path file) throws IOException {
    Files.writeString(file, new GsonBuilder().setPrettyPrinting().create().toJson(toJson())
        + "\n", StandardCharsets.UTF_8);
  }
}
