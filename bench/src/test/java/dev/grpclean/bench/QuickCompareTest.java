package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The no-argument run: lean vs netty, idle 1000 connections, unary and download for 10 s. */
public class QuickCompareTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  @Test
  public void quickCompareIsLeanAgainstNettyOnThreeScenarios() {
    List<Scenario> quick = BenchCli.quickScenarios();
    assertEquals(List.of("idle", "unary", "download"),
        quick.stream().map(Scenario::name).collect(Collectors.toList()));
    for (Scenario s : quick) {
      assertEquals(List.of(Transport.LEAN, Transport.NETTY), s.transports());
      assertEquals(1, s.reps());
      assertEquals(List.of("-Xmx1g", "-XX:+UseG1GC"), s.jvmFlags());
    }
    assertEquals(1000, ((IdleScenario) quick.get(0)).connections);
    assertEquals(10, ((UnaryScenario) quick.get(1)).durationSeconds, 0);
    assertEquals(10, ((DownloadScenario) quick.get(2)).durationSeconds, 0);
  }
}
