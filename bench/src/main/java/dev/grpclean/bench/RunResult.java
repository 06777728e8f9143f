package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one run of one scenario on one transport measured: figures in base units, optional time
 * series (for charts), and the children's raw replies (kept in the JSON file).
 *
 * <p>Thread-compatible.
 */
final class RunResult {
  final Transport transport;
  final int rep;
  final Map<String, Double> values = new LinkedHashMap<>();
  /** Name to {x[], y[]}; e.g. {@code inUse}: seconds and bytes. */
  final Map<String, double[][]> series = new LinkedHashMap<>();
  final JsonObject raw = new JsonObject();
  /** Why this transport could not run in the run's security mode; null when it ran. */
  String unsupported;

  RunResult(Transport transport, int rep) {
    this.transport = transport;
    this.rep = rep;
  }

  /** A run that did not happen: the transport cannot do the security mode. No figures. */
  static RunResult unsupported(Transport transport, int rep, String why) {
    RunResult r = new RunResult(transport, rep);
    r.unsupported = why;
    return r;
  }

  RunResult put(String key, double value) {
    values.put(key, value);
    return this;
  }
}
