package dev.grpclean.bench.child;

import com.sun.management.GarbageCollectorMXBean;
import com.sun.management.GcInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Heap in use right after the most recent collection of any collector: the sum over heap pools of
 * {@link GcInfo#getMemoryUsageAfterGc()} of whichever collector ended last. Unlike
 * {@code MemoryPoolMXBean.getCollectionUsage()}, this moves at every young collection under G1
 * too (G1's old-gen collection usage only moves at mixed or full collections), so it is what the
 * application and transport keep, without the garbage not yet collected.
 *
 * <p>{@code getLastGcInfo()} builds a few objects per call, so it is asked only when some
 * collector's count moved since the last read; a read between collections allocates nothing.
 *
 * <p>Thread-compatible: one sampler thread calls {@link #bytes()}.
 */
final class RetainedHeap {
  private final List<GarbageCollectorMXBean> collectors = new ArrayList<>();
  private final Set<String> heapPools = new HashSet<>();
  private final long[] lastCounts;
  private long retainedBytes = -1;

  RetainedHeap() {
    for (java.lang.management.GarbageCollectorMXBean gc
        : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (gc instanceof GarbageCollectorMXBean) {
        collectors.add((GarbageCollectorMXBean) gc);
      }
    }
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        heapPools.add(pool.getName());
      }
    }
    lastCounts = new long[collectors.size()];
  }

  /**
   * Heap bytes in use right after the latest collection; before any collection, heap used now
   * (nothing has been collected, so everything allocated so far is what the JVM keeps).
   */
  long bytes() {
    boolean moved = retainedBytes < 0;
    for (int i = 0; i < collectors.size(); i++) {
      long count = collectors.get(i).getCollectionCount();
      if (count != lastCounts[i]) {
        lastCounts[i] = count;
        moved = true;
      }
    }
    if (moved) {
      retainedBytes = readLatest();
    }
    return retainedBytes;
  }

  private long readLatest() {
    GcInfo latest = null;
    for (GarbageCollectorMXBean gc : collectors) {
      GcInfo info = gc.getLastGcInfo();
      if (info != null && (latest == null || info.getEndTime() > latest.getEndTime())) {
        latest = info;
      }
    }
    if (latest == null) {
      return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
    long sum = 0;
    for (Map.Entry<String, MemoryUsage> e : latest.getMemoryUsageAfterGc().entrySet()) {
      if (heapPools.contains(e.getKey())) {
        sum += e.getValue().getUsed();
      }
    }
    return sum;
  }
}
