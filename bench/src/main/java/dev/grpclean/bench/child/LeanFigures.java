package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.LeanStatsMXBean;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.management.JMX;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/**
 * The lean transport's own counters of this JVM (every lean server's and channel's stats MBean,
 * summed) over a window: socket reads and writes, readable events, flushes, and the poller
 * threads' tasks, waits and wake-ups. They break the bench's per-RPC syscall figures down by
 * what the transport did (how many RPCs one read or write carried, how often a loop slept and
 * was woken). Empty for the other transports, which register no such MBean.
 *
 * <p>Thread-compatible.
 */
final class LeanFigures {
  /** The figures reported, under their names. */
  static final List<Figure> FIGURES = List.of(Figure.READABLE_EVENTS, Figure.READ_SYSCALLS,
      Figure.WRITE_SYSCALLS, Figure.FLUSHES, Figure.BYTES_READ, Figure.BYTES_WRITTEN,
      Figure.LOOP_TASKS_RUN, Figure.LOOP_WAITS, Figure.LOOP_WAKEUPS,
      Figure.LOOP_YIELDS_BEFORE_FLUSH, Figure.LOOP_FRUITFUL_YIELDS, Figure.LOOP_BUSY_NANOS,
      Figure.EXECUTOR_TASKS);

  private Map<String, Long> mark = Map.of();

  /** Starts a window. */
  void mark() {
    mark = read();
  }

  /** Each figure's growth since {@link #mark}, or nothing without a lean MBean. */
  void addSinceMark(JsonObject o) {
    Map<String, Long> now = read();
    if (now.isEmpty()) {
      return;
    }
    JsonObject lean = new JsonObject();
    for (Map.Entry<String, Long> e : now.entrySet()) {
      lean.addProperty(e.getKey(), e.getValue() - mark.getOrDefault(e.getKey(), 0L));
    }
    o.add("lean", lean);
  }

  private static Map<String, Long> read() {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    Map<String, Long> sum = new LinkedHashMap<>();
    try {
      for (ObjectName name : server.queryNames(new ObjectName("dev.grpclean:*"), null)) {
        Map<String, long[]> snapshot =
            JMX.newMXBeanProxy(server, name, LeanStatsMXBean.class).getSnapshot();
        for (Figure figure : FIGURES) {
          long[] v = snapshot.get(figure.name());
          if (v != null && v.length > 0) {
            sum.merge(figure.name(), v[0], Long::sum);
          }
        }
      }
    } catch (MalformedObjectNameException e) {
      throw new IllegalStateException(e);
    }
    return sum;
  }
}
