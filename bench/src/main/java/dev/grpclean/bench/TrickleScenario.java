package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Slow uploads: each of N connections has one client-streaming call whose 1 MiB request arrives
 * in 16 KiB pieces with pauses, so the server holds partial messages. The server's memory per
 * connection (heap after GC + direct) is set against the bytes actually pending per
 * connection: the ratio is how much the transport amplifies what it must hold. The marginal
 * ratio leaves out the cost of the open connection and stream (measured with 0 bytes pending).
 * The client is a raw HTTP/2 client, the same for every server transport.
 */
@Command(name = "trickle", mixinStandardHelpOptions = true,
    description = "N client-streaming calls whose 1 MiB request arrives in 16 KiB pieces: "
        + "server memory per connection against the bytes pending.")
final class TrickleScenario extends Scenario {
  @Option(names = "--connections", paramLabel = "N", defaultValue = "100",
      description = "Connections, one slow upload each (default: ${DEFAULT-VALUE}).")
  int connections;

  @Option(names = "--pending-kib", paramLabel = "KIB", defaultValue = "512",
      description = "Bytes of each message sent when the server is measured "
          + "(default: ${DEFAULT-VALUE}).")
  int pendingKib;

  @Option(names = "--piece-kib", paramLabel = "KIB", defaultValue = "16",
      description = "Piece size (default: ${DEFAULT-VALUE}).")
  int pieceKib;

  @Option(names = "--pause-ms", paramLabel = "MS", defaultValue = "20",
      description = "Pause between rounds of pieces (default: ${DEFAULT-VALUE}).")
  int pauseMillis;

  @Option(names = "--settle-ms", paramLabel = "MS", defaultValue = "1000",
      description = "Wait before each measurement (default: ${DEFAULT-VALUE}).")
  long settleMillis;

  /** Message size: the 1 MiB, the largest the size classes of most pools hold. */
  private static final int MESSAGE_BYTES = 1 << 20;

  @Override
  String name() {
    return "trickle";
  }

  @Override
  Map<String, Object> params() {
    return map("connections", connections, "pending", pendingKib + "KiB",
        "piece", pieceKib + "KiB", "pause", pauseMillis + "ms");
  }

  @Override
  List<Metric> metrics() {
    return List.of(
        Metric.of("pendingPerConn", "bytes pending / conn", Metric.Unit.KIB),
        Metric.of("server.memoryPerConn", "server heap+direct / conn", Metric.Unit.KIB),
        Metric.of("server.amplification", "server memory / pending", Metric.Unit.RATIO),
        Metric.of("server.marginalAmplification", "Δmemory / pending (stream open = 0)",
            Metric.Unit.RATIO),
        Metric.of("server.openStreamPerConn", "server memory / conn, 0 pending",
            Metric.Unit.KIB),
        Metric.of("server.heapPerConn", "server heap / conn", Metric.Unit.KIB),
        Metric.of("server.directPerConn", "server direct / conn", Metric.Unit.KIB),
        Metric.of("server.rssPerConn", "server RSS / conn", Metric.Unit.KIB),
        Metric.of("server.leasedPerConn", "server lean leased / conn", Metric.Unit.KIB),
        Metric.of("server.nettyUsedPerConn", "server netty pool used / conn",
            Metric.Unit.KIB));
  }

  @Override
  List<Metric> chartMetrics() {
    return List.of(metric("pendingPerConn"), metric("server.memoryPerConn"),
        metric("server.heapPerConn"), metric("server.directPerConn"));
  }

  @Override
  String chartTitle() {
    return "server memory per slow upload";
  }

  @Override
  String unsupported(Transport transport) {
    if (security() == Security.ALTS_LIKE) {
      return "the raw HTTP/2 trickle client has no alts_like handshake";
    }
    return super.unsupported(transport);
  }

  @Override
  void validate() {
    positive(this, "--connections", connections);
    positive(this, "--piece-kib", pieceKib);
    if (pendingKib <= 0 || pendingKib >= MESSAGE_BYTES >> 10) {
      throw usage("--pending-kib must be between 1 and 1023 (the message is 1 MiB)");
    }
    if (pauseMillis < 0 || settleMillis < 0) {
      throw usage("--pause-ms and --settle-ms must not be negative");
    }
  }

  @Override
  RunResult run(Transport transport, int rep, Rig rig) throws BenchException {
    Duration quick = Duration.ofSeconds(60);
    long pendingBytes = (long) pendingKib << 10;
    String pieces = " pieceBytes=" + (pieceKib << 10) + " pauseMs=" + pauseMillis;
    Duration sending = Duration.ofSeconds(90 + (pendingBytes / (pieceKib << 10))
        * (pauseMillis + 50L) / 1000);
    try (ChildJvm server = rig.server(transport)) {
      try (ChildJvm client = rig.client(transport, server.ready().get("port").getAsInt())) {
        client.call("warm", quick);
        JsonObject base = server.call("snapshot", quick);
        rig.step("opening " + connections + " uploads");
        client.call("trickle n=" + connections + " messageBytes=" + MESSAGE_BYTES
            + " pendingBytes=0" + pieces, sending);
        sleep(settleMillis);
        JsonObject open = server.call("snapshot", quick);
        rig.step("trickling " + pendingKib + " KiB into each upload");
        JsonObject sent = client.call("trickle pendingBytes=" + pendingBytes + pieces, sending);
        sleep(settleMillis);
        rig.step("measuring (forced GC)");
        JsonObject pending = server.call("snapshot", quick);
        rig.step("finishing the uploads");
        client.call("trickle finish=true" + pieces, sending);
        RunResult r = new RunResult(transport, rep);
        double n = connections;
        double pendingPerConn = sent.get("pendingBytesPerConnection").getAsDouble();
        double memoryPerConn = Snapshots.memoryDelta(base, pending) / n;
        r.put("pendingPerConn", pendingPerConn);
        r.put("server.memoryPerConn", memoryPerConn);
        r.put("server.amplification", memoryPerConn / pendingPerConn);
        r.put("server.marginalAmplification",
            Snapshots.memoryDelta(open, pending) / n / pendingPerConn);
        r.put("server.openStreamPerConn", Snapshots.memoryDelta(base, open) / n);
        Snapshots.putPerConnection(r, "server", base, pending, connections);
        // Only the figures listed in metrics() are shown; the rest stay in the raw JSON.
        r.raw.getAsJsonObject("server").add("streamsOpen", open);
        return r;
      }
    }
  }
}
