package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/**
 * {@code attack} on real forked server JVMs at a tiny size: the run finishes, prints both tables
 * with a row per attack and transport, writes attack.json with the server's figures, and leaves
 * no child behind. What the servers answer is not asserted: that is what the run records.
 */
public class AttackRunTest {
  @Rule public final Timeout timeout = Timeout.seconds(240);
  @Rule public final TemporaryFolder folder = new TemporaryFolder();

  @After
  public void noChildLeft() {
    assertEquals(0, ProcessHandle.current().children().filter(ProcessHandle::isAlive).count());
  }

  @Test
  public void twoAttacksOnLeanAndNetty() throws IOException {
    CliRun run = CliRun.run(folder.getRoot().toPath(), "attack", "--transports", "lean,netty",
        "--attacks", "ping-flood,half-open", "--connections", "4", "--duration", "1");
    assertEquals(run.toString(), 0, run.exitCode);
    assertFalse(run.err, run.err.contains("\tat "));
    assertTrue(run.out, run.out.contains("== attack duration=1.00s connections=4"));
    assertTrue(run.out, run.out.contains("server's response"));
    assertTrue(run.out, run.out.contains("baseline → peak → after"));
    for (String attack : new String[] {"ping-flood", "half-open"}) {
      for (String t : new String[] {"lean", "netty"}) {
        assertTrue(run.out, run.out.matches("(?s).*\\n" + attack + " +" + t + " .*"));
      }
    }
    JsonObject json = run.json("attack");
    assertEquals(2, json.getAsJsonArray("attacks").size());
    JsonArray results = json.getAsJsonArray("results");
    assertEquals(4, results.size());
    for (int i = 0; i < results.size(); i++) {
      JsonObject r = results.get(i).getAsJsonObject();
      assertFalse(r.toString(), r.has("failure"));
      JsonObject outcome = r.getAsJsonObject("outcome");
      int connections = r.get("attack").getAsString().equals("half-open") ? 4 : 1;
      assertEquals(connections, outcome.get("connections").getAsInt());
      JsonObject memory = r.getAsJsonObject("memory");
      for (String figure : new String[] {"heapLive", "rss"}) {
        JsonObject f = memory.getAsJsonObject(figure);
        for (String when : new String[] {"baseline", "peak", "after"}) {
          assertTrue(r.toString(), f.get(when).getAsDouble() > 0);
        }
      }
      assertTrue(r.toString(), memory.get("cpuMillis").getAsLong() >= 0);
      assertTrue(r.toString(), r.getAsJsonObject("raw").getAsJsonObject("sampling")
          .get("samples").getAsLong() > 0);
    }
  }
}
