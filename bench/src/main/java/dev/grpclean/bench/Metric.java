package dev.grpclean.bench;

import java.util.Locale;

/**
 * One figure a scenario reports: its key in JSON and CSV, its label in the table, and the unit
 * it is shown in. Values are stored in base units (bytes, nanoseconds → shown as µs, counts).
 *
 * <p>Immutable.
 */
final class Metric {
  /** How a value in base units is shown. */
  enum Unit {
    KIB("KiB", 1.0 / 1024),
    MIB("MiB", 1.0 / (1 << 20)),
    MIB_PER_SECOND("MiB/s", 1),
    PER_SECOND("/s", 1),
    MICROS("µs", 1),
    MILLIS("ms", 1),
    COUNT("", 1),
    RATIO("×", 1);

    final String label;
    final double scale;

    Unit(String label, double scale) {
      this.label = label;
      this.scale = scale;
    }
  }

  final String key;
  final String label;
  final Unit unit;

  private Metric(String key, String label, Unit unit) {
    this.key = key;
    this.label = label;
    this.unit = unit;
  }

  static Metric of(String key, String label, Unit unit) {
    return new Metric(key, label, unit);
  }

  /** The label with its unit, e.g. {@code server heap / conn (KiB)}. */
  String heading() {
    return unit.label.isEmpty() ? label : label + " (" + unit.label + ")";
  }

  /** A base-unit value in display units. */
  double display(double value) {
    return value * unit.scale;
  }

  /** A display value with about three significant digits. */
  static String format(double v) {
    double a = Math.abs(v);
    if (a == 0) {
      return "0";
    }
    if (a >= 1000) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    if (a >= 100) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    if (a >= 0.01) {
      return String.format(Locale.ROOT, "%.2f", v);
    }
    return String.format(Locale.ROOT, "%.2g", v);
  }
}
