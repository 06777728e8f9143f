package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Map;

/**
 * Bytes allocated, CPU time, and read/write syscalls and context switches ({@link ProcCounters})
 * of this JVM since {@link #mark()}. Allocation is the sum of
 * {@code com.sun.management.ThreadMXBean.getThreadAllocatedBytes} over live threads (JDK 17 has
 * no process-wide total), so a thread that dies between mark and read loses its share; gRPC's
 * executors keep their threads for a minute, longer than any measured window.
 *
 * <p>Thread-compatible.
 */
public final class AllocationMeter {
  private final com.sun.management.ThreadMXBean threads =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
  private final com.sun.management.OperatingSystemMXBean os =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private Map<Long, Long> markAllocated = new HashMap<>();
  private long markCpuNanos;
  private long markGcCount;
  private long markGcMillis;
  private long markNanos;
  private final ProcCounters proc = new ProcCounters();
  private final LeanFigures lean = new LeanFigures();

  public AllocationMeter() {
    threads.setThreadAllocatedMemoryEnabled(true);
    mark();
  }

  public void mark() {
    markAllocated = perThread();
    markCpuNanos = os.getProcessCpuTime();
    markGcCount = gcCount();
    markGcMillis = gcMillis();
    markNanos = System.nanoTime();
    proc.mark();
    lean.mark();
  }

  /**
   * allocatedBytes, cpuNanos, gcCount, gcMillis and elapsedNanos since the mark, and where procfs
   * exists the syscall and context-switch counts of {@link ProcCounters}, and under {@code lean}
   * the lean transport's own counters ({@link LeanFigures}) when it is the one running.
   */
  public JsonObject sinceMark() {
    JsonObject proc = this.proc.sinceMark();
    long allocated = 0;
    for (Map.Entry<Long, Long> e : perThread().entrySet()) {
      allocated += e.getValue() - markAllocated.getOrDefault(e.getKey(), 0L);
    }
    JsonObject o = new JsonObject();
    o.addProperty("allocatedBytes", allocated);
    o.addProperty("cpuNanos", os.getProcessCpuTime() - markCpuNanos);
    o.addProperty("gcCount", gcCount() - markGcCount);
    o.addProperty("gcMillis", gcMillis() - markGcMillis);
    o.addProperty("elapsedNanos", System.nanoTime() - markNanos);
    for (String key : proc.keySet()) {
      o.add(key, proc.get(key));
    }
    lean.addSinceMark(o);
    return o;
  }

  private Map<Long, Long> perThread() {
    long[] ids = threads.getAllThreadIds();
    long[] bytes = threads.getThreadAllocatedBytes(ids);
    Map<Long, Long> map = new HashMap<>(ids.length * 2);
    for (int i = 0; i < ids.length; i++) {
      if (bytes[i] >= 0) {
        map.put(ids[i], bytes[i]);
      }
    }
    return map;
  }

  private static long gcCount() {
    long n = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      n += Math.max(0, gc.getCollectionCount());
    }
    return n;
  }

  private static long gcMillis() {
    long n = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      n += Math.max(0, gc.getCollectionTime());
    }
    return n;
  }
}
