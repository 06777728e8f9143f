package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * Read and write syscalls and context switches per unit of work (an RPC, a MiB), each side, from
 * the children's procfs counters ({@code dev.grpclean.bench.child.ProcCounters} says what they
 * include), plus the read+write total of both sides, absent where procfs is; and each side's TCP
 * data segments ({@link TcpSegments}: the write count that also sees Netty's {@code send}s).
 *
 * <p>Stateless.
 */
final class ProcFigures {
  private ProcFigures() {}

  /** The figures, e.g. {@code server.readsPerRpc}, for unit {@code Rpc} or {@code Mib}. */
  static List<Metric> metrics(String unit, String perLabel) {
    List<Metric> m = new ArrayList<>();
    for (String side : List.of("client", "server")) {
      m.add(Metric.of(side + ".readsPer" + unit, side + " read syscalls / " + perLabel,
          Metric.Unit.COUNT));
      m.add(Metric.of(side + ".writesPer" + unit, side + " write syscalls / " + perLabel,
          Metric.Unit.COUNT));
      m.add(Metric.of(side + ".ctxSwitchesPer" + unit, side + " context switches / " + perLabel,
          Metric.Unit.COUNT));
      m.add(Metric.of(side + ".segmentsPer" + unit, side + " TCP data segments out / " + perLabel,
          Metric.Unit.COUNT));
    }
    m.add(Metric.of("syscallsPer" + unit, "read+write syscalls, both sides / " + perLabel,
        Metric.Unit.COUNT));
    return m;
  }

  /**
   * {@link TcpSegments#sample} at the start of the window; the end is taken by {@link #put}.
   */
  static long[] segmentsBefore(ChildJvm server) {
    return TcpSegments.sample(server.ready().get("port").getAsInt());
  }

  /**
   * Puts the data segments each side sent since {@code before} ({@link #segmentsBefore}),
   * divided by {@code units}; nothing when {@code ss} gave no answer.
   */
  static void putSegments(RunResult r, String unit, ChildJvm server, long[] before,
      double units) {
    long[] after = TcpSegments.sample(server.ready().get("port").getAsInt());
    if (before == null || after == null) {
      return;
    }
    r.put("server.segmentsPer" + unit,
        (after[TcpSegments.SERVER] - before[TcpSegments.SERVER]) / units);
    r.put("client.segmentsPer" + unit,
        (after[TcpSegments.CLIENT] - before[TcpSegments.CLIENT]) / units);
  }

  /** Puts the figures of both sides' counter replies, divided by {@code units}. */
  static void put(RunResult r, String unit, JsonObject client, JsonObject server, double units) {
    double total = 0;
    boolean complete = true;
    for (String side : List.of("client", "server")) {
      JsonObject o = side.equals("client") ? client : server;
      if (!o.has("readSyscalls")) {
        complete = false;
        continue;
      }
      double reads = o.get("readSyscalls").getAsDouble();
      double writes = o.get("writeSyscalls").getAsDouble();
      r.put(side + ".readsPer" + unit, reads / units);
      r.put(side + ".writesPer" + unit, writes / units);
      r.put(side + ".ctxSwitchesPer" + unit, o.get("ctxSwitches").getAsDouble() / units);
      total += reads + writes;
    }
    if (complete) {
      r.put("syscallsPer" + unit, total / units);
    }
  }
}
