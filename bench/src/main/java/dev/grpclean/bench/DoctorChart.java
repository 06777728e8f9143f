package dev.grpclean.bench;

import dev.grpclean.transport.LeanConnectionStats;
import dev.grpclean.transport.QpsDoctor;
import dev.grpclean.transport.QpsDoctor.Signal;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.XYChart;

/**
 * The doctor's chart: the {@link Signal}s its verdicts are based on, per sampled interval, over
 * the sampled time. One row per side (a server or channel), two panels each: the shares of time
 * (poller busy, blocked on the peer's windows, send buffer full, GC pauses) in percent, and the
 * throughput in MiB/s with the executor's and the writer's queue waits in milliseconds on a
 * second axis (on the right). {@link #series} is the data model; {@link #write} only draws it.
 *
 * <p>Thread-compatible.
 */
final class DoctorChart {
  /** The shares, drawn in percent on the left panel. */
  static final List<Signal> SHARES = List.of(Signal.POLLER_BUSY_SHARE,
      Signal.STREAM_WINDOW_BLOCKED_SHARE, Signal.CONNECTION_WINDOW_BLOCKED_SHARE,
      Signal.SEND_BUFFER_FULL_SHARE, Signal.GC_PAUSE_SHARE);
  /** Throughput, drawn in MiB/s on the right panel's first axis. */
  static final List<Signal> RATES = List.of(Signal.BYTES_SENT_PER_SECOND,
      Signal.BYTES_RECEIVED_PER_SECOND);
  /** Queue waits, drawn in ms on the right panel's second axis. */
  static final List<Signal> WAITS = List.of(Signal.EXECUTOR_QUEUE_WAIT_NANOS,
      Signal.WRITER_QUEUE_WAIT_NANOS);

  /** One side's snapshots, in the order they were taken. */
  static final class Side {
    final String name;
    final List<LeanConnectionStats> samples = new ArrayList<>();

    Side(String name) {
      this.name = name;
    }
  }

  private DoctorChart() {}

  /**
   * Every {@link Signal} of each interval between consecutive {@code samples}: {@code [0]} the
   * interval's end in seconds since the first sample, {@code [1]} the signal in its display unit
   * (shares in percent, byte rates in MiB/s, waits in milliseconds). Empty arrays with fewer than
   * two samples.
   */
  static Map<Signal, double[][]> series(List<LeanConnectionStats> samples) {
    int n = Math.max(0, samples.size() - 1);
    Map<Signal, double[][]> m = new EnumMap<>(Signal.class);
    for (Signal s : Signal.values()) {
      m.put(s, new double[2][n]);
    }
    for (int i = 0; i < n; i++) {
      LeanConnectionStats earlier = samples.get(i);
      LeanConnectionStats later = samples.get(i + 1);
      double at = (later.takenAtNanos() - samples.get(0).takenAtNanos()) / 1e9;
      for (Map.Entry<Signal, Double> e : QpsDoctor.signals(earlier, later).entrySet()) {
        double[][] xy = m.get(e.getKey());
        xy[0][i] = at;
        xy[1][i] = display(e.getKey(), e.getValue());
      }
    }
    return m;
  }

  /** {@code value} of {@code s} in the chart's unit for it. */
  static double display(Signal s, double value) {
    if (SHARES.contains(s)) {
      return value * 100;
    }
    if (RATES.contains(s)) {
      return value / (1 << 20);
    }
    return value / 1e6;
  }

  /** The series' legend label: the signal in words with its unit. */
  static String label(Signal s) {
    String words = s.name().toLowerCase(java.util.Locale.ROOT)
        .replaceAll("_(share|nanos|per_second)$", "").replace('_', ' ');
    return words + (SHARES.contains(s) ? " %" : RATES.contains(s) ? " MiB/s" : " ms");
  }

  /** Draws {@code sides} as one PNG at {@code file} (see the class comment for the layout). */
  static void write(String title, List<Side> sides, Path file) throws IOException {
    List<XYChart> charts = new ArrayList<>();
    for (Side side : sides) {
      Map<Signal, double[][]> series = series(side.samples);
      XYChart shares = Charts.timeChart(title + " — " + side.name + ": share of time", "%");
      shares.getStyler().setYAxisMin(0.0);
      for (Signal s : SHARES) {
        Charts.line(shares, label(s), series.get(s)[0], series.get(s)[1]);
      }
      XYChart rates = Charts.timeChart(title + " — " + side.name + ": throughput and queue waits",
          "MiB/s");
      rates.getStyler().setYAxisMin(0.0);
      rates.setYAxisGroupTitle(1, "ms");
      rates.getStyler().setYAxisGroupPosition(1,
          org.knowm.xchart.style.Styler.YAxisPosition.Right);
      for (Signal s : RATES) {
        Charts.line(rates, label(s), series.get(s)[0], series.get(s)[1]);
      }
      for (Signal s : WAITS) {
        Charts.line(rates, label(s), series.get(s)[0], series.get(s)[1]).setYAxisGroup(1);
      }
      charts.add(shares);
      charts.add(rates);
    }
    Charts.savePng(charts, 2, file);
  }
}
