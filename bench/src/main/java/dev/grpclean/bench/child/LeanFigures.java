package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
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
  /** The figures reported, by their {@code LeanConnectionStats.Figure} names. */
  static final List<String> FIGURES = List.of("READABLE_EVENTS", "READ_SYSCALLS",
      "WRITE_SYSCALLS", "FLUSHES", "BYTES_READ", "BYTES_WRITTEN", "LOOP_TASKS_RUN", "LOOP_WAITS",
      "LOOP_WAKEUPS", "LOOP_YIELDS_BEFORE_FLUSH", "LOOP_FRUITFUL_YIELDS", "LOOP_BUSY_NANOS",
      "EXECUTOR_TASKS");

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
        for (String figure : FIGURES) {
          long[] v = snapshot.get(figure);
          if (v != null && v.length > 0) {
            sum.merge(figure, v[0], Long::sum);
          }
        }
      }
    } catch (MalformedObjectNameException e) {
      throw new IllegalStateException(e);
    }
    return sum;
  }
}
