package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Path;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/** {@code bench doctor} names a client window far below the transfer's needs, as JSON and text. */
public class DoctorCommandTest {
  @Rule public final Timeout timeout = Timeout.seconds(120);
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void tinyWindowDownloadIsNamedInJson() throws Exception {
    Path dir = tmp.getRoot().toPath();
    Path chart = dir.resolve("doctor-chart.png");
    CliRun run = CliRun.raw(dir, "doctor", "--window", "16384", "--concurrency", "1",
        "--warmup", "1", "--duration", "1", "--json", "--chart", chart.toString());
    assertEquals(run.toString(), 0, run.exitCode);
    JsonObject o = JsonParser.parseString(run.out).getAsJsonObject();
    JsonArray server = o.getAsJsonObject("server").getAsJsonArray("verdicts");
    assertTrue(run.toString(), server.size() > 0);
    // With the doctor's PING round trips the window is also measured against the BDP.
    assertTrue(run.toString(), java.util.List.of("WINDOW_BELOW_BDP", "PEER_STREAM_WINDOW")
        .contains(server.get(0).getAsJsonObject().get("bottleneck").getAsString()));
    JsonArray client = o.getAsJsonObject("client").getAsJsonArray("verdicts");
    assertTrue(run.toString(), java.util.List.of("WINDOW_BELOW_BDP", "OUR_RECEIVE_WINDOW")
        .contains(client.get(0).getAsJsonObject().get("bottleneck").getAsString()));
    assertTrue(run.toString(), o.getAsJsonObject("server").getAsJsonObject("figures")
        .get("STREAM_WINDOW_BLOCKED_EVENTS").getAsLong() > 0);
    assertEquals(chart.toString(), o.get("chart").getAsString());
    java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(chart.toFile());
    assertTrue(run.toString(), image != null && image.getWidth() > 0);
  }

  @Test
  public void textReportHasBothSides() {
    CliRun run = CliRun.raw(tmp.getRoot().toPath(), "doctor", "--workload", "unary",
        "--message-bytes", "100", "--concurrency", "2", "--warmup", "0.5", "--duration", "0.5");
    assertEquals(run.toString(), 0, run.exitCode);
    assertTrue(run.toString(), run.out.startsWith("qps-doctor: unary, 2 in flight"));
    assertTrue(run.toString(), run.out.contains("\nserver side:\n  "));
    assertTrue(run.toString(), run.out.contains("\nclient side:\n  "));
  }

  @Test
  public void clientThatStopsReadingIsTheSendBuffer() {
    CliRun run = CliRun.raw(tmp.getRoot().toPath(), "doctor", "--stalled-reader", "--window",
        "67108864", "--concurrency", "2", "--warmup", "1", "--duration", "1");
    assertEquals(run.toString(), 0, run.exitCode);
    assertTrue(run.toString(), run.out.contains("a client that stops reading after 1 MiB"));
    String server = run.out.substring(run.out.indexOf("server side:"),
        run.out.indexOf("client side:"));
    assertTrue(run.toString(), server.startsWith("server side:\n  socket send buffer full"));
  }

  @Test
  public void jsonSideHasTheStreamSummariesHistograms() {
    dev.grpclean.transport.LeanConnectionStats delta =
        dev.grpclean.transport.LeanConnectionStats.builder(1)
            .add(dev.grpclean.transport.LeanConnectionStats.Figure.ENDED_STREAMS, 2)
            .record(dev.grpclean.transport.LeanConnectionStats.Histogram.STREAM_BYTES_SENT, 1005)
            .record(dev.grpclean.transport.LeanConnectionStats.Histogram.STREAM_BYTES_SENT, 1005)
            .build();
    JsonObject side = DoctorCommand.side(java.util.List.of(), delta);
    assertEquals(2, side.getAsJsonObject("figures").get("ENDED_STREAMS").getAsLong());
    JsonObject sent = side.getAsJsonObject("histograms").getAsJsonObject("STREAM_BYTES_SENT");
    assertEquals(2, sent.get("count").getAsLong());
    assertEquals("1005 lies in [512, 1024)", 1023, sent.get("p99").getAsLong());
  }

  @Test
  public void unknownWorkloadIsAUsageError() {
    CliRun run = CliRun.raw(tmp.getRoot().toPath(), "doctor", "--workload", "upload");
    assertEquals(run.toString(), 2, run.exitCode);
    assertTrue(run.err, run.err.contains("--workload must be download or unary"));
  }
}
