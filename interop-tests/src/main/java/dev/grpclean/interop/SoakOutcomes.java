package dev.grpclean.interop;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import javax.annotation.Nullable;

/**
 * The {@link SoakClient}'s outcome counts by operation and label (a status code's name, or a
 * label of ours), which outcomes are unexpected, the failures, and the report table.
 * Thread-safe.
 */
final class SoakOutcomes {
  /** Failures listed in the report; the rest are only counted. */
  private static final int MAX_REPORTED_FAILURES = 20;

  private final Map<SoakClient.Op, Map<String, LongAdder>> counts =
      new EnumMap<>(SoakClient.Op.class);
  private final LongAdder calls = new LongAdder();
  private final LongAdder unexpected = new LongAdder();
  /** How often each description of UNAVAILABLE(churned) came, for the report. */
  private final Map<String, LongAdder> churnStatuses = new ConcurrentHashMap<>();
  @GuardedBy("this")
  private final List<String> failures = new ArrayList<>();
  @GuardedBy("this")
  private long failuresDropped;

  SoakOutcomes() {
    for (SoakClient.Op op : SoakClient.Op.values()) {
      counts.put(op, new ConcurrentHashMap<>());
    }
  }

  void record(SoakClient.Op op, Status status, boolean channelRetired, @Nullable String problem) {
    Status.Code code = status.getCode();
    if (problem != null && (code == Status.Code.OK || op.expected.contains(code))) {
      unexpected(op, "BAD_RESPONSE", problem + " (status " + code + ")");
    } else if (op == SoakClient.Op.UNARY_ERROR_STATUS && code == op.characteristic
        && !SoakClient.ECHOED_MESSAGE.equals(status.getDescription())) {
      unexpected(op, "BAD_RESPONSE", "echoed status has description "
          + status.getDescription());
    } else if (op.expected.contains(code)) {
      add(op, code.name());
    } else if (code == Status.Code.UNAVAILABLE && channelRetired
        && String.valueOf(status.getDescription()).startsWith(SoakClient.CHURN_DESCRIPTION)) {
      add(op, "UNAVAILABLE(churned)");
      churnStatuses.computeIfAbsent(String.valueOf(status.getDescription()),
          d -> new LongAdder()).increment();
    } else {
      unexpected(op, code.name(), status.toString());
    }
  }

  void unexpected(SoakClient.Op op, String label, String detail) {
    add(op, label);
    unexpected.increment();
    fail(op.label() + " " + label + ": " + detail);
  }

  synchronized void fail(String failure) {
    if (failures.size() < MAX_REPORTED_FAILURES) {
      failures.add(failure);
    } else {
      failuresDropped++;
    }
  }

  synchronized List<String> failures() {
    List<String> all = new ArrayList<>(failures);
    if (failuresDropped > 0) {
      all.add("... and " + failuresDropped + " more");
    }
    return all;
  }

  private void add(SoakClient.Op op, String label) {
    calls.increment();
    counts.get(op).computeIfAbsent(label, l -> new LongAdder()).increment();
  }

  long count(SoakClient.Op op, String label) {
    LongAdder adder = counts.get(op).get(label);
    return adder == null ? 0 : adder.sum();
  }

  long calls() {
    return calls.sum();
  }

  long unexpected() {
    return unexpected.sum();
  }

  String table() {
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
        "%-26s %9s  %s%n", "operation", "calls", "outcomes"));
    for (SoakClient.Op op : SoakClient.Op.values()) {
      Map<String, Long> sorted = new TreeMap<>();
      long total = 0;
      for (Map.Entry<String, LongAdder> e : counts.get(op).entrySet()) {
        sorted.put(e.getKey(), e.getValue().sum());
        total += e.getValue().sum();
      }
      StringBuilder line = new StringBuilder();
      sorted.forEach((label, n) -> line.append(label).append('=').append(n).append(' '));
      table.append(String.format(Locale.ROOT, "%-26s %9d  %s%n",
          op.label(), total, line.toString().trim()));
    }
    churnStatuses.forEach((description, n) -> table.append(
        "UNAVAILABLE(churned) \"" + description + "\": " + n.sum() + "\n"));
    return table.toString().stripTrailing();
  }
}
