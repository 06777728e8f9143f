package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.time.Duration;

/**
 * The frame the timed load scenarios ({@code unary}, {@code stream}, {@code download}) share: a
 * server and a client child JVM with the client's channels open, an unmeasured warm-up call, and
 * the measured call, each given the window plus 90 s to answer.
 */
final class LoadRun {
  /** Timeout of the calls that only set up or read counters. */
  static final Duration QUICK = Duration.ofSeconds(60);

  /** What a scenario does once both JVMs are up and the channels are open. */
  interface Body {
    RunResult run(ChildJvm server, ChildJvm client) throws BenchException;
  }

  private LoadRun() {}

  /** Starts the server, then a client on it with {@code channels} channels, and runs body. */
  static RunResult withPair(Transport transport, Rig rig, int channels, Body body)
      throws BenchException {
    try (ChildJvm server = rig.server(transport)) {
      try (ChildJvm client = rig.client(transport, server.ready().get("port").getAsInt())) {
        client.call("channels n=" + channels, QUICK);
        return body.run(server, client);
      }
    }
  }

  /** {@code verb durationMs=<warm-up> args} on the client, unless the warm-up is zero. */
  static void warmUp(Rig rig, ChildJvm client, String verb, double warmupSeconds, String args)
      throws BenchException {
    long warmupMs = Math.round(warmupSeconds * 1000);
    if (warmupMs > 0) {
      rig.step("warming up for " + warmupSeconds + " s");
      client.call(verb + " durationMs=" + warmupMs + args,
          Duration.ofMillis(warmupMs).plusSeconds(90));
    }
  }

  /** Steps "{@code what} for N s", then {@code verb durationMs=<duration> args} on the client. */
  static JsonObject measure(Rig rig, ChildJvm client, String what, String verb,
      double durationSeconds, String args) throws BenchException {
    long durationMs = Math.round(durationSeconds * 1000);
    rig.step(what + " for " + durationSeconds + " s");
    return client.call(verb + " durationMs=" + durationMs + args,
        Duration.ofMillis(durationMs).plusSeconds(90));
  }
}
