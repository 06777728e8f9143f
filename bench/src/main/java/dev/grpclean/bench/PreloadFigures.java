package dev.grpclean.bench;

import com.google.gson.JsonObject;
import dev.grpclean.bench.PreloadCounters.Counter;
import dev.grpclean.bench.PreloadCounters.Counts;
import java.util.ArrayList;
import java.util.List;

/**
 * Socket I/O per unit of work (an RPC, a MiB) on each side from {@code --syscalls preload}
 * ({@link PreloadShim}): socket reads (read, readv, recv*) and writes (write, writev, send*,
 * sendfile) with those that failed with EAGAIN, bytes per socket read and write, wake-up I/O
 * (eventfd and pipe reads and writes) and epoll waits, plus socket reads+writes of both sides
 * (the fair count across transports, taken at full speed) and the same with the wake-ups (every
 * read and write call the library counts: what procfs's read+write row means to count). Absent in the other modes (the table
 * leaves out figures no run has).
 *
 * <p>Stateless.
 */
final class PreloadFigures {
  private PreloadFigures() {}

  /** The figures, e.g. {@code server.preloadSocketWritesPerRpc}, for {@code Rpc} or {@code Mib}. */
  static List<Metric> metrics(String unit, String perLabel) {
    List<Metric> m = new ArrayList<>();
    for (String side : List.of("client", "server")) {
      String label = side + " (preload) ";
      m.add(Metric.of(side + ".preloadSocketReadsPer" + unit,
          label + "socket read/readv/recv* / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".preloadFailedSocketReadsPer" + unit,
          label + "of which EAGAIN / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".preloadSocketWritesPer" + unit,
          label + "socket write/writev/send* / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".preloadFailedSocketWritesPer" + unit,
          label + "of which EAGAIN / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".preloadBytesPerSocketRead",
          label + "bytes / socket read", Metric.Unit.COUNT));
      m.add(Metric.of(side + ".preloadBytesPerSocketWrite",
          label + "bytes / socket write", Metric.Unit.COUNT));
      m.add(Metric.of(side + ".preloadWakeupIoPer" + unit,
          label + "eventfd/pipe reads+writes / " + perLabel, Metric.Unit.COUNT));
      m.add(Metric.of(side + ".preloadEpollWaitsPer" + unit,
          label + "epoll_wait / " + perLabel, Metric.Unit.COUNT));
    }
    m.add(Metric.of("preloadSocketIoPer" + unit,
        "socket reads+writes, both sides (preload) / " + perLabel, Metric.Unit.COUNT));
    m.add(Metric.of("preloadReadWriteIoPer" + unit,
        "socket+wake-up reads+writes, both sides (preload) / " + perLabel, Metric.Unit.COUNT));
    return m;
  }

  /**
   * Puts both sides' figures over a window ({@link PreloadCounters.Counts#minus} of its end and
   * start readings) divided by {@code units}, and the counts into the raw JSON.
   */
  static void put(RunResult r, String unit, Counts client, Counts server, double units) {
    double io = 0;
    double wakeups = 0;
    for (String side : List.of("client", "server")) {
      Counts c = side.equals("client") ? client : server;
      long reads = c.get(Counter.SOCKET_READS);
      long writes = c.get(Counter.SOCKET_WRITES);
      r.put(side + ".preloadSocketReadsPer" + unit, reads / units);
      r.put(side + ".preloadFailedSocketReadsPer" + unit,
          c.get(Counter.SOCKET_READS_EAGAIN) / units);
      r.put(side + ".preloadSocketWritesPer" + unit, writes / units);
      r.put(side + ".preloadFailedSocketWritesPer" + unit,
          c.get(Counter.SOCKET_WRITES_EAGAIN) / units);
      if (reads > 0) {
        r.put(side + ".preloadBytesPerSocketRead",
            (double) c.get(Counter.SOCKET_READ_BYTES) / reads);
      }
      if (writes > 0) {
        r.put(side + ".preloadBytesPerSocketWrite",
            (double) c.get(Counter.SOCKET_WRITE_BYTES) / writes);
      }
      r.put(side + ".preloadWakeupIoPer" + unit,
          (c.get(Counter.WAKEUP_READS) + c.get(Counter.WAKEUP_WRITES)) / units);
      r.put(side + ".preloadEpollWaitsPer" + unit, c.get(Counter.EPOLL_WAITS) / units);
      JsonObject raw = new JsonObject();
      for (Counter k : Counter.values()) {
        raw.addProperty(k.name(), c.get(k));
      }
      r.raw.add(side + "Preload", raw);
      io += reads + writes;
      wakeups += c.get(Counter.WAKEUP_READS) + c.get(Counter.WAKEUP_WRITES);
    }
    r.put("preloadSocketIoPer" + unit, io / units);
    r.put("preloadReadWriteIoPer" + unit, (io + wakeups) / units);
  }
}
