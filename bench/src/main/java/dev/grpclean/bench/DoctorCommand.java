package dev.grpclean.bench;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.grpclean.transport.ConnectionStatsGroup;
import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanConnectionStats;
import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.QpsDoctor;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code bench doctor}: runs a workload over a lean server and a lean channel in this JVM,
 * samples both sides' connection counters over the measured period and prints what the
 * {@link QpsDoctor} names as the limit on each side, with its evidence.
 *
 * <p>Runs on the calling thread; the workload runs on threads of its own, stopped at the end.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
    description = {"Drives a workload over lean (server and client in this JVM), samples the "
        + "connection counters and names what limits throughput on each side.",
        "Example: bench doctor --workload download --window 16384"})
final class DoctorCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--workload", defaultValue = "download",
      description = "download (server streaming) or unary. Default: ${DEFAULT-VALUE}.")
  String workload;

  @Option(names = "--window", paramLabel = "BYTES", defaultValue = "1048576",
      description = "The client's flowControlWindow. Default: ${DEFAULT-VALUE}.")
  int windowBytes;

  @Option(names = "--message-bytes", paramLabel = "BYTES", defaultValue = "65536",
      description = "Download message size, or unary payload. Default: ${DEFAULT-VALUE}.")
  int messageBytes;

  @Option(names = "--concurrency", paramLabel = "C", defaultValue = "8",
      description = "Calls in flight (one thread each). Default: ${DEFAULT-VALUE}.")
  int concurrency;

  @Option(names = "--duration", paramLabel = "S", defaultValue = "5",
      description = "Seconds sampled. Default: ${DEFAULT-VALUE}.")
  double durationSeconds;

  @Option(names = "--warmup", paramLabel = "S", defaultValue = "2",
      description = "Seconds of load before sampling. Default: ${DEFAULT-VALUE}.")
  double warmupSeconds;

  @Option(names = "--json", description = "Print JSON instead of text.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (!workload.equals("download") && !workload.equals("unary")) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--workload must be download or unary, not " + workload);
    }
    LeanServerBuilder serverBuilder = LeanServerBuilder.forPort(0);
    Server server = serverBuilder.addService(BenchService.definition()).build().start();
    LeanChannelBuilder channelBuilder = LeanChannelBuilder.forAddress("127.0.0.1",
        server.getPort()).usePlaintext().flowControlWindow(windowBytes)
        .maxInboundMessageSize(Math.max(4 << 20, messageBytes + 1024));
    ManagedChannel channel = channelBuilder.build();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> callers = new ArrayList<>();
    try {
      for (int i = 0; i < concurrency; i++) {
        Thread t = new Thread(() -> drive(channel, stop), "doctor-load-" + i);
        t.setDaemon(true);
        t.start();
        callers.add(t);
      }
      Thread.sleep((long) (warmupSeconds * 1000));
      ConnectionStatsGroup serverStats = serverBuilder.connectionStats();
      ConnectionStatsGroup clientStats = channelBuilder.connectionStats();
      LeanConnectionStats serverBefore = serverStats.snapshot();
      LeanConnectionStats clientBefore = clientStats.snapshot();
      Thread.sleep((long) (durationSeconds * 1000));
      LeanConnectionStats serverAfter = serverStats.snapshot();
      LeanConnectionStats clientAfter = clientStats.snapshot();
      print(spec.commandLine().getOut(), serverBefore, serverAfter, clientBefore, clientAfter);
    } finally {
      stop.set(true);
      channel.shutdownNow();
      server.shutdownNow();
      for (Thread t : callers) {
        t.join(TimeUnit.SECONDS.toMillis(5));
      }
      channel.awaitTermination(5, TimeUnit.SECONDS);
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    return 0;
  }

  /** One caller: calls back to back until stopped (the channel's shutdown ends the last one). */
  private void drive(ManagedChannel channel, AtomicBoolean stop) {
    Blob unaryRequest = BenchService.constant(messageBytes);
    Blob downloadRequest = BenchService.downloadRequest(Long.MAX_VALUE / 2, messageBytes);
    try {
      while (!stop.get()) {
        if (workload.equals("unary")) {
          ClientCalls.blockingUnaryCall(channel, BenchService.ECHO, CallOptions.DEFAULT,
              unaryRequest);
        } else {
          Iterator<Blob> it = ClientCalls.blockingServerStreamingCall(channel,
              BenchService.DOWNLOAD, CallOptions.DEFAULT, downloadRequest);
          while (!stop.get() && it.hasNext()) {
            it.next();
          }
        }
      }
    } catch (StatusRuntimeException e) {
      // The channel was shut down at the end of the sample.
    }
  }

  private void print(PrintWriter out, LeanConnectionStats serverBefore,
      LeanConnectionStats serverAfter, LeanConnectionStats clientBefore,
      LeanConnectionStats clientAfter) {
    List<QpsDoctor.Verdict> server = QpsDoctor.diagnose(serverBefore, serverAfter);
    List<QpsDoctor.Verdict> client = QpsDoctor.diagnose(clientBefore, clientAfter);
    double seconds = (serverAfter.takenAtNanos() - serverBefore.takenAtNanos()) / 1e9;
    if (json) {
      JsonObject o = new JsonObject();
      o.addProperty("workload", workload);
      o.addProperty("clientWindowBytes", windowBytes);
      o.addProperty("messageBytes", messageBytes);
      o.addProperty("concurrency", concurrency);
      o.addProperty("sampledSeconds", seconds);
      o.add("server", side(server, serverAfter.minus(serverBefore)));
      o.add("client", side(client, clientAfter.minus(clientBefore)));
      out.println(new GsonBuilder().setPrettyPrinting().create().toJson(o));
    } else {
      out.printf(Locale.ROOT, "qps-doctor: %s, %d in flight, %d-byte messages, client window "
          + "%d bytes, %.1f s sampled%n", workload, concurrency, messageBytes, windowBytes,
          seconds);
      out.println("server side:");
      out.print(indent(QpsDoctor.report(server)));
      out.println("client side:");
      out.print(indent(QpsDoctor.report(client)));
    }
    out.flush();
  }

  private static JsonObject side(List<QpsDoctor.Verdict> verdicts, LeanConnectionStats delta) {
    JsonObject o = new JsonObject();
    JsonArray list = new JsonArray();
    for (QpsDoctor.Verdict v : verdicts) {
      JsonObject j = new JsonObject();
      j.addProperty("bottleneck", v.bottleneck.name());
      j.addProperty("share", v.share);
      j.addProperty("evidence", v.evidence);
      j.addProperty("advice", v.advice);
      list.add(j);
    }
    o.add("verdicts", list);
    JsonObject figures = new JsonObject();
    for (Map.Entry<LeanConnectionStats.Figure, Long> e : delta.asMap().entrySet()) {
      figures.addProperty(e.getKey().name(), e.getValue());
    }
    o.add("figures", figures);
    return o;
  }

  private static String indent(String text) {
    return "  " + text.replace("\n", "\n  ").replaceAll(" +$", "");
  }
}
