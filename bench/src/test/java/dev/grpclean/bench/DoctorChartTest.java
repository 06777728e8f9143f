package dev.grpclean.bench;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats;
import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.QpsDoctor.Signal;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/** The doctor's chart: its series per interval from constructed snapshots, and the PNG. */
public class DoctorChartTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static final long SECOND = 1_000_000_000L;
  private static final long HALF = SECOND / 2;

  /** Three snapshots half a second apart of one connection on two poller threads. */
  private static List<LeanConnectionStats> samples() {
    LeanConnectionStats a = LeanConnectionStats.builder(7 * SECOND)
        .add(Figure.CONNECTIONS_OPEN, 1).add(Figure.LOOP_THREADS, 2).build();
    LeanConnectionStats b = LeanConnectionStats.builder(7 * SECOND + HALF)
        .add(Figure.CONNECTIONS_OPEN, 1).add(Figure.LOOP_THREADS, 2)
        .add(Figure.LOOP_BUSY_NANOS, HALF) // 2 threads x 0.5 s: half busy
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 400_000_000L)
        .add(Figure.BYTES_WRITTEN, 3L << 20).add(Figure.BYTES_READ, 1L << 19)
        .add(Figure.EXECUTOR_SAMPLED_TASKS, 4).add(Figure.EXECUTOR_QUEUE_WAIT_NANOS, 8_000_000L)
        .build();
    LeanConnectionStats c = LeanConnectionStats.builder(8 * SECOND)
        .add(Figure.CONNECTIONS_OPEN, 1).add(Figure.LOOP_THREADS, 2)
        .add(Figure.LOOP_BUSY_NANOS, HALF + SECOND) // all busy
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 400_000_000L)
        .add(Figure.SOCKET_NOT_WRITABLE_NANOS, 250_000_000L)
        .add(Figure.GC_PAUSES, 1).add(Figure.GC_PAUSE_NANOS, 50_000_000L)
        .add(Figure.BYTES_WRITTEN, 4L << 20).add(Figure.BYTES_READ, 1L << 19)
        .add(Figure.EXECUTOR_SAMPLED_TASKS, 4).add(Figure.EXECUTOR_QUEUE_WAIT_NANOS, 8_000_000L)
        .add(Figure.QUEUE_WAIT_SAMPLED_ITEMS, 10).add(Figure.QUEUE_WAIT_NANOS, 3_000_000L)
        .build();
    return List.of(a, b, c);
  }

  @Test
  public void seriesHaveEachIntervalsSignalsInDisplayUnits() {
    Map<Signal, double[][]> s = DoctorChart.series(samples());
    assertEquals(Signal.values().length, s.size());
    for (double[][] xy : s.values()) {
      assertArrayEquals(new double[] {0.5, 1.0}, xy[0], 1e-12);
    }
    assertArrayEquals(new double[] {50, 100}, s.get(Signal.POLLER_BUSY_SHARE)[1], 1e-9);
    assertArrayEquals(new double[] {80, 0}, s.get(Signal.STREAM_WINDOW_BLOCKED_SHARE)[1], 1e-9);
    assertArrayEquals(new double[] {0, 0}, s.get(Signal.CONNECTION_WINDOW_BLOCKED_SHARE)[1], 0);
    assertArrayEquals(new double[] {0, 50}, s.get(Signal.SEND_BUFFER_FULL_SHARE)[1], 1e-9);
    assertArrayEquals(new double[] {0, 10}, s.get(Signal.GC_PAUSE_SHARE)[1], 1e-9);
    // 3 MiB then 1 MiB in half a second each.
    assertArrayEquals(new double[] {6, 2}, s.get(Signal.BYTES_SENT_PER_SECOND)[1], 1e-9);
    assertArrayEquals(new double[] {1, 0}, s.get(Signal.BYTES_RECEIVED_PER_SECOND)[1], 1e-9);
    // 4 tasks waited 8 ms in all in the first interval, none were sampled in the second.
    assertArrayEquals(new double[] {2, 0}, s.get(Signal.EXECUTOR_QUEUE_WAIT_NANOS)[1], 1e-9);
    assertArrayEquals(new double[] {0, 0.3}, s.get(Signal.WRITER_QUEUE_WAIT_NANOS)[1], 1e-9);
  }

  @Test
  public void oneSampleHasNoIntervals() {
    Map<Signal, double[][]> s = DoctorChart.series(samples().subList(0, 1));
    assertEquals(0, s.get(Signal.POLLER_BUSY_SHARE)[0].length);
  }

  @Test
  public void labelsNameTheSignalAndItsUnit() {
    assertEquals("poller busy %", DoctorChart.label(Signal.POLLER_BUSY_SHARE));
    assertEquals("bytes sent MiB/s", DoctorChart.label(Signal.BYTES_SENT_PER_SECOND));
    assertEquals("executor queue wait ms", DoctorChart.label(Signal.EXECUTOR_QUEUE_WAIT_NANOS));
  }

  @Test
  public void pngDecodesWithTwoPanelsPerSide() throws Exception {
    DoctorChart.Side server = new DoctorChart.Side("server");
    server.samples.addAll(samples());
    DoctorChart.Side client = new DoctorChart.Side("client");
    client.samples.addAll(samples());
    Path file = tmp.getRoot().toPath().resolve("doctor.png");
    DoctorChart.write("test", List.of(server, client), file);
    BufferedImage image = ImageIO.read(file.toFile());
    assertNotNull("not a PNG ImageIO reads", image);
    // Charts.savePng lays the panels out 2 per row, one row per side.
    assertTrue(image.getWidth() + "x" + image.getHeight(),
        image.getWidth() > image.getHeight() && image.getHeight() >= 2 * 500);
  }
}
