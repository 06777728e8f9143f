package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonObject;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/**
 * {@code --security tls} and {@code alts_like} on real forked JVMs at a tiny size: the runs
 * succeed with positive figures, and a transport without the mode is reported as unsupported,
 * never run.
 */
public class SecurityRunTest {
  @Rule public final Timeout timeout = Timeout.seconds(240);
  @Rule public final TemporaryFolder folder = new TemporaryFolder();

  @Test
  public void idleOverTls() throws Exception {
    CliRun run = CliRun.run(folder.getRoot().toPath(), "compare", "idle", "--connections", "24",
        "--settle-ms", "200", "--transports", "lean,netty", "--reps", "1", "--security", "tls",
        "--no-charts");
    JsonObject json = succeeded(run);
    assertEquals("tls", json.get("security").getAsString());
    assertEquals(0, json.getAsJsonObject("unsupported").size());
    for (String t : List.of("lean", "netty")) {
      positiveSides(json, t);
    }
  }

  @Test
  public void idleOverAltsLikeRunsLeanAndReportsNettyUnsupported() throws Exception {
    CliRun run = CliRun.run(folder.getRoot().toPath(), "compare", "idle", "--connections", "24",
        "--settle-ms", "200", "--transports", "lean,netty", "--reps", "1",
        "--security", "alts_like", "--no-charts");
    JsonObject json = succeeded(run);
    assertEquals("alts_like", json.get("security").getAsString());
    positiveSides(json, "lean");
    assertTrue(json.getAsJsonObject("unsupported").has("netty"));
    assertFalse(json.getAsJsonObject("unsupported").has("lean"));
    assertEquals(0, json.getAsJsonObject("summary").getAsJsonObject("netty").size());
    assertTrue(run.out, run.out.contains("unsupported"));
    assertTrue(run.out, run.out.contains("netty: unsupported with --security alts_like"));
    // Only lean's JVMs were started.
    try (var logs = java.nio.file.Files.list(run.dir.resolve("logs"))) {
      assertTrue(logs.noneMatch(p -> p.getFileName().toString().contains("netty")));
    }
  }

  private static JsonObject succeeded(CliRun run) throws Exception {
    assertEquals(run.toString(), 0, run.exitCode);
    assertTrue(run.out, run.out.contains("== idle"));
    assertTrue(run.err, !run.err.contains("\tat "));
    return run.json("idle");
  }

  /**
   * Per-connection figures are a difference of two process-wide readings; 24 connections keep
   * the signal (KiBs each) well above GC and RSS noise (a few KiB in total).
   */
  private static void positiveSides(JsonObject json, String transport) {
    JsonObject figures = json.getAsJsonObject("summary").getAsJsonObject(transport);
    for (String side : List.of("server", "client")) {
      for (String key : List.of(side + ".heapPerConn", side + ".rssPerConn")) {
        assertTrue(transport + " has no " + key + ": " + figures, figures.has(key));
        double v = figures.getAsJsonObject(key).get("median").getAsDouble();
        assertTrue(transport + " " + key + " = " + v, v > 0 && !Double.isInfinite(v));
      }
    }
  }
}
