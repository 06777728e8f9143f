package dev.grpclean.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG charts of a report: the scenario's chosen figures as bars per transport (memory per
 * connection, latency percentiles), and every time series as lines (in-use memory during a
 * download), one line per run. The doctor's chart ({@link DoctorChart}) draws with the same
 * helpers ({@link #timeChart}, {@link #line}, {@link #savePng}).
 *
 * <p>Thread-compatible. Draws off-screen: sets {@code java.awt.headless} if nobody has.
 */
final class Charts {
  private static final int WIDTH = 1000;
  private static final int HEIGHT = 560;

  private Charts() {}

  static void write(Report report, Path dir) throws IOException {
    headless();
    Scenario s = report.scenario;
    boolean anyRan = report.transports.stream().anyMatch(t -> report.unsupported(t) == null);
    if (!s.chartMetrics().isEmpty() && anyRan) {
      bars(report, s.chartMetrics(), dir.resolve(s.name() + "-" + slug(s.chartTitle())));
    }
    List<String> seriesNames = new ArrayList<>();
    for (RunResult r : report.runs) {
      for (String name : r.series.keySet()) {
        if (!seriesNames.contains(name)) {
          seriesNames.add(name);
        }
      }
    }
    for (String name : seriesNames) {
      lines(report, name, dir.resolve(s.name() + "-" + slug(name) + "-over-time"));
    }
  }

  private static void bars(Report report, List<Metric> metrics, Path file) throws IOException {
    Metric first = metrics.get(0);
    CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
        .title(report.scenario.chartTitle() + " — " + paramsLine(report))
        .yAxisTitle(first.unit.label).build();
    chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
    chart.getStyler().setLabelsVisible(true);
    chart.getStyler().setLabelsFontColorAutomaticEnabled(false);
    chart.getStyler().setDecimalPattern("#,##0.##");
    List<String> categories = new ArrayList<>();
    for (Metric m : metrics) {
      categories.add(m.label);
    }
    for (Transport t : report.transports) {
      if (report.unsupported(t) != null) {
        continue;
      }
      List<Double> values = new ArrayList<>();
      for (Metric m : metrics) {
        Report.Stats st = report.stats(t, m);
        values.add(st == null ? 0.0 : m.display(st.median));
      }
      chart.addSeries(t.id(), categories, values);
    }
    BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
  }

  /** Series {@code name} of every run: x in seconds, y in bytes, drawn in MiB. */
  private static void lines(Report report, String name, Path file) throws IOException {
    XYChart chart = timeChart(
        report.scenario.name() + ": client " + words(name) + " — " + paramsLine(report), "MiB");
    for (RunResult r : report.runs) {
      double[][] xy = r.series.get(name);
      if (xy == null || xy[0].length == 0) {
        continue;
      }
      double[] mib = new double[xy[1].length];
      for (int i = 0; i < mib.length; i++) {
        mib[i] = xy[1][i] / (1 << 20);
      }
      String label = report.scenario.reps() > 1 ? r.transport.id() + " #" + r.rep : r.transport.id();
      line(chart, label, xy[0], mib);
    }
    if (!chart.getSeriesMap().isEmpty()) {
      BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
  }

  /** An empty chart of lines over time: x in seconds, y in {@code yTitle}, the legend inside. */
  static XYChart timeChart(String title, String yTitle) {
    headless();
    XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
        .xAxisTitle("seconds").yAxisTitle(yTitle).build();
    chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
    return chart;
  }

  /** Adds one line without markers. */
  static XYSeries line(XYChart chart, String label, double[] x, double[] y) {
    XYSeries series = chart.addSeries(label, x, y);
    series.setMarker(SeriesMarkers.NONE);
    return series;
  }

  /** Writes {@code charts} as one PNG at exactly {@code file}, {@code columns} per row. */
  static void savePng(List<XYChart> charts, int columns, Path file) throws IOException {
    headless();
    int rows = (charts.size() + columns - 1) / columns;
    try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(file)) {
      BitmapEncoder.saveBitmap(charts, rows, columns, out, BitmapEncoder.BitmapFormat.PNG);
    }
  }

  private static void headless() {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  private static String paramsLine(Report report) {
    StringBuilder b = new StringBuilder();
    for (Map.Entry<String, Object> e : report.scenario.params().entrySet()) {
      b.append(b.length() == 0 ? "" : ", ").append(e.getKey()).append('=').append(e.getValue());
    }
    if (report.scenario.security() != Security.INSECURE) {
      b.append(", security=").append(report.scenario.security().id());
    }
    return b.toString();
  }

  private static String words(String camel) {
    return camel.replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
  }

  private static String slug(String text) {
    return text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
  }
}
