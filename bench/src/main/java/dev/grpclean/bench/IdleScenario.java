package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * N client channels, one small RPC each, then idle: what each open connection costs on each
 * side. Both JVMs are warmed with one throw-away channel first, so class loading and pools
 * filled once (Netty's first arena chunk) land in the baseline, not in the per-connection cost.
 */
@Command(name = "idle", mixinStandardHelpOptions = true,
    description = "N channels, one small RPC each, then idle: memory per connection per side.")
final class IdleScenario extends Scenario {
  @Option(names = "--connections", paramLabel = "N", defaultValue = "2000",
      description = "Client channels, one connection each (default: ${DEFAULT-VALUE}).")
  int connections;

  @Option(names = "--baseline-connections", paramLabel = "B", defaultValue = "0",
      description = "Channels opened (one RPC each) before the baseline, so the figures are "
          + "the marginal cost of the next --connections: one-time costs of the first "
          + "connections (JIT-compiled code, metaspace, pool chunks) drop out "
          + "(default: ${DEFAULT-VALUE}).")
  int baselineConnections;

  @Option(names = "--rpc-bytes", paramLabel = "BYTES", defaultValue = "100",
      description = "Size of each channel's one RPC, request and response: e.g. 65536 so every "
          + "connection has carried full-size records before it idles (default: ${DEFAULT-VALUE}).")
  int rpcBytes;

  @Option(names = "--settle-ms", paramLabel = "MS", defaultValue = "1000",
      description = "Idle time before measuring (default: ${DEFAULT-VALUE}).")
  long settleMillis;

  @Option(names = "--raw-client",
      description = "The client side is plain sockets, each through the HTTP/2 handshake and one "
          + "real unary RPC, then idle (for connection counts a gRPC client JVM would not hold; "
          + "spread over source addresses 127.0.0.2, .3, ... on loopback). The client figures "
          + "are then the raw sockets', not a transport's.")
  boolean rawClient;

  /** Connections opened per call to the client, so the progress line moves. */
  private static final int OPEN_BATCH = 1000;
  /** File descriptors a child JVM uses besides connections (jars, selectors, pipes, logs). */
  static final int FD_HEADROOM = 512;

  @Override
  String name() {
    return "idle";
  }

  @Override
  Map<String, Object> params() {
    Map<String, Object> p = map("connections", connections);
    if (rawClient) {
      p.put("client", "raw");
    }
    if (baselineConnections > 0) {
      p.put("baselineConnections", baselineConnections);
    }
    if (rpcBytes != 100) {
      p.put("rpcBytes", rpcBytes);
    }
    return p;
  }

  @Override
  List<Metric> metrics() {
    List<Metric> m = new ArrayList<>(Snapshots.perConnectionMetrics("server"));
    m.addAll(Snapshots.perConnectionMetrics("client"));
    return m;
  }

  @Override
  List<Metric> chartMetrics() {
    return List.of(metric("server.heapPerConn"), metric("server.directPerConn"),
        metric("server.rssPerConn"), metric("client.heapPerConn"),
        metric("client.directPerConn"), metric("client.rssPerConn"));
  }

  @Override
  String chartTitle() {
    return "memory per idle connection";
  }

  @Override
  void validate() {
    positive(this, "--connections", connections);
    long limit = FdLimit.hard();
    long needed = (long) connections + baselineConnections + FD_HEADROOM;
    if (limit > 0 && needed > limit) {
      throw usage("--connections " + connections + " (+ --baseline-connections "
          + baselineConnections + ") needs about " + needed
          + " file descriptors in each JVM, but the hard limit here is " + limit
          + " (ulimit -Hn; scripts/bench raises the soft limit to it and tries to raise the hard"
          + " one, which needs CAP_SYS_RESOURCE): at most " + (limit - FD_HEADROOM)
          + " connections on this machine");
    }
    if (rpcBytes < 0 || rpcBytes > 4 << 20) {
      throw usage("--rpc-bytes must be in [0, 4 MiB], not " + rpcBytes);
    }
    if (baselineConnections < 0) {
      throw usage("--baseline-connections must not be negative");
    }
    if (settleMillis < 0) {
      throw usage("--settle-ms must not be negative");
    }
  }

  @Override
  RunResult run(Transport transport, int rep, Rig rig) throws BenchException {
    Duration snapshotTimeout = Duration.ofSeconds(60);
    try (ChildJvm server = rig.server(transport)) {
      try (ChildJvm client = rig.client(transport, server.ready().get("port").getAsInt())) {
        rig.step("warming up");
        client.call("warm", Duration.ofSeconds(60));
        if (baselineConnections > 0) {
          rig.step("opening " + baselineConnections + " baseline channels");
          client.call((rawClient ? "rawidle" : "idle") + " n=" + baselineConnections
              + " bytes=" + rpcBytes,
              Duration.ofSeconds(60 + baselineConnections / 10));
          sleep(settleMillis);
        }
        rig.step("baselines (forced GC)");
        JsonObject serverBefore = server.call("snapshot", snapshotTimeout);
        JsonObject clientBefore = client.call("snapshot", snapshotTimeout);
        JsonObject opened = new JsonObject();
        long openMillis = 0;
        for (int done = 0; done < connections; ) {
          int batch = Math.min(OPEN_BATCH, connections - done);
          rig.step("opening " + (rawClient ? "raw connections" : "channels") + ": " + done
              + " of " + connections);
          JsonObject o = client.call((rawClient ? "rawidle" : "idle") + " n=" + batch
              + " bytes=" + rpcBytes, Duration.ofSeconds(60 + batch / 10));
          openMillis += o.get("openMillis").getAsLong();
          done += batch;
          opened = o;
        }
        opened.addProperty("openMillis", openMillis);
        rig.step("idle for " + settleMillis + " ms");
        sleep(settleMillis);
        rig.step("measuring (forced GC)");
        JsonObject serverAfter = server.call("snapshot", snapshotTimeout);
        JsonObject clientAfter = client.call("snapshot", snapshotTimeout);
        RunResult r = new RunResult(transport, rep);
        Snapshots.putPerConnection(r, "server", serverBefore, serverAfter, connections);
        Snapshots.putPerConnection(r, "client", clientBefore, clientAfter, connections);
        r.raw.add("open", opened);
        return r;
      }
    }
  }
}
