package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;

import com.google.gson.JsonObject;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link Snapshots}' per-connection arithmetic on hand-made snapshots.
 *
 * <p>Thread-compatible (JUnit runs each test on one thread).
 */
@RunWith(JUnit4.class)
public class SnapshotsTest {
  private static final int KIB = 1024;

  @Rule public final Timeout timeout = Timeout.seconds(10);

  @Test
  public void leanHeapPerConnectionLeavesOutWhatTheHeapPoolGaveBack() {
    // 24 connections took 60 KiB of heap while the heap pool's decay gave 512 KiB back.
    JsonObject before = snapshot(8_000 * KIB, 1_024 * KIB);
    JsonObject after = snapshot(8_000 * KIB + 60 * KIB - 512 * KIB, 512 * KIB);
    RunResult r = new RunResult(Transport.LEAN, 0);

    Snapshots.putPerConnection(r, "server", before, after, 24);

    assertEquals(2.5 * KIB, r.values.get("server.heapPerConn"), 1e-9);
  }

  @Test
  public void heapPerConnectionOfOtherTransportsIsTheHeapDelta() {
    JsonObject before = new JsonObject();
    before.addProperty("heapUsed", 1_000 * KIB);
    before.addProperty("rss", -1);
    before.addProperty("threads", 10);
    JsonObject after = before.deepCopy();
    after.addProperty("heapUsed", 1_000 * KIB + 240 * KIB);
    RunResult r = new RunResult(Transport.NETTY, 0);

    Snapshots.putPerConnection(r, "client", before, after, 24);

    assertEquals(10.0 * KIB, r.values.get("client.heapPerConn"), 1e-9);
  }

  private static JsonObject snapshot(long heapUsed, long heapPooled) {
    JsonObject s = new JsonObject();
    s.addProperty("heapUsed", heapUsed);
    s.addProperty("rss", -1);
    s.addProperty("threads", 10);
    s.addProperty("leanLeasedBytes", 0);
    s.addProperty("leanPooledBytes", heapPooled + 512 * KIB);
    s.addProperty("leanHeapPooledBytes", heapPooled);
    return s;
  }
}
