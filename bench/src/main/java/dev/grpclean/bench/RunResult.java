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

  RunResult(Transport transport, int rep) {
    this.transport = transport;
    this.rep = rep;
  }

  RunResult put(String key, double value) {
    values.put(key, value);
    return this;
  }
}
