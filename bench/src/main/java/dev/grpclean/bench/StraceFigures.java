package dev.grpclean.bench;

import com.google.gson.JsonObject;
import dev.grpclean.bench.StraceFdCounts.Kind;
import java.util.ArrayList;
import java.util.List;

/**
 * Syscalls per unit of work (an RPC, a MiB) on each side from {@code --syscalls strace}
 * ({@link SyscallTrace}): socket reads (read, readv, recv*) and socket writes (write, writev,
 * send*), the fair socket I/O count across transports, with the reads that found nothing
 * (EAGAIN); reads and writes of eventfds and pipes (selector wake-ups); {@code epoll_wait},
 * {@code epoll_ctl}, {@code futex} and all syscalls; plus socket reads+writes of both sides.
 * Absent in procfs mode (the table leaves out figures no run has).
 *
 * <p>Stateless.
 */
final class StraceFigures {
  private StraceFigures() {}

  /** The figures, e.g. {@code server.straceSocketWritesPerRpc}, for {@code Rpc} or {@code Mib}. */
  static List<Metric> metrics(String unit, String perLabel) {
    List<Metric> m = new ArrayList<>();
    for (String side : List.of("client", "server")) {
      String label = side + " (strace) ";
      m.add(Metric.of(side + ".straceSocketReadsPer" + unit,
          label + "socket read/readv/recv* / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".straceFailedSocketReadsPer" + unit,
          label + "of which EAGAIN / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".straceSocketWritesPer" + unit,
          label + "socket write/writev/send* / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".straceWakeupIoPer" + unit,
          label + "eventfd/pipe reads+writes / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".straceEpollWaitsPer" + unit,
          label + "epoll_wait / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".straceEpollCtlsPer" + unit,
          label + "epoll_ctl / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".straceFutexesPer" + unit,
          label + "futex / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".straceSyscallsPer" + unit,
          label + "all syscalls / " + perLabel, Metric.Unit.COUNT));
    }
    m.add(Metric.of("straceSocketIoPer" + unit,
        "socket reads+writes, both sides (strace) / " + perLabel, Metric.Unit.COUNT));
    return m;
  }

  /** Puts both sides' figures divided by {@code units}, and their counts into the raw JSON. */
  static void put(RunResult r, String unit, SyscallTrace.Summaries summaries, double units) {
    double io = 0;
    for (String side : List.of("client", "server")) {
      SyscallTrace.Traced t = side.equals("client") ? summaries.client : summaries.server;
      StraceSummary s = t.table;
      StraceFdCounts fd = t.byFd;
      long reads = fd.reads(Kind.SOCKET);
      long writes = fd.writes(Kind.SOCKET);
      r.put(side + ".straceSocketReadsPer" + unit, reads / units);
      r.put(side + ".straceFailedSocketReadsPer" + unit, fd.failedReads(Kind.SOCKET) / units);
      r.put(side + ".straceSocketWritesPer" + unit, writes / units);
      r.put(side + ".straceWakeupIoPer" + unit,
          (fd.reads(Kind.WAKEUP) + fd.writes(Kind.WAKEUP)) / units);
      r.put(side + ".straceEpollWaitsPer" + unit, s.calls(StraceSummary.EPOLL_WAITS) / units);
      r.put(side + ".straceEpollCtlsPer" + unit, s.calls("epoll_ctl") / units);
      r.put(side + ".straceFutexesPer" + unit, s.calls("futex") / units);
      r.put(side + ".straceSyscallsPer" + unit, s.totalCalls() / units);
      JsonObject raw = new JsonObject();
      raw.add("table", s.toJson());
      raw.add("readsAndWritesByFd", fd.toJson());
      r.raw.add(side + "Strace", raw);
      io += reads + writes;
    }
    r.put("straceSocketIoPer" + unit, io / units);
  }
}
