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
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
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
  /** How often the sample asks for a PING round trip: a few per second, a negligible load. */
  private static final long PROBE_INTERVAL_MILLIS = 250;

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

  @Option(names = "--channels", paramLabel = "N", defaultValue = "1",
      description = "Client channels (one connection each); callers take turns. "
          + "Default: ${DEFAULT-VALUE}.")
  int channelCount;

  @Option(names = "--server-pollers", paramLabel = "N", defaultValue = "0",
      description = "The server's pollerThreads (0: the shared default). "
          + "Default: ${DEFAULT-VALUE}.")
  int serverPollers;

  @Option(names = "--server-executor-threads", paramLabel = "N", defaultValue = "0",
      description = "Run the server's handlers on a fixed pool of N threads (0: grpc's default "
          + "pool). Default: ${DEFAULT-VALUE}.")
  int serverExecutorThreads;

  @Option(names = "--direct-executor",
      description = "Run the server's handlers on the transport's poller threads.")
  boolean directExecutor;

  @Option(names = "--handler-block-us", paramLabel = "US", defaultValue = "0",
      description = "Each call's handler blocks this long first (a database call, say). "
          + "Default: ${DEFAULT-VALUE}.")
  long handlerBlockMicros;

  @Option(names = "--handler-spin-us", paramLabel = "US", defaultValue = "0",
      description = "Each call's handler spends this much CPU first. Default: ${DEFAULT-VALUE}.")
  long handlerSpinMicros;

  @Option(names = "--pid", paramLabel = "PID",
      description = "Sample the lean servers and channels of the JVM with this process id on "
          + "this machine (attach API) instead of running a workload.")
  Long pid;

  @Option(names = "--jmx", paramLabel = "HOST:PORT",
      description = "Sample the lean servers and channels of the JVM with this JMX port instead "
          + "of running a workload.")
  String jmxAddress;

  @Option(names = "--chart", paramLabel = "FILE.png",
      description = "Also draw the sampled series the verdicts are based on (shares of time, "
          + "throughput, queue waits per interval) as a PNG at FILE.png.")
  java.nio.file.Path chart;

  @Option(names = "--gc-storm",
      description = "A thread forces garbage collections back to back during the run.")
  boolean gcStorm;

  @Option(names = "--stalled-reader",
      description = "The channels reach the server through a relay that stops reading the "
          + "server's bytes after the first MiB, as a peer that stops reading: the server's "
          + "socket send buffer fills. Give the client a window larger than the socket buffers "
          + "(e.g. --window 67108864), or flow control stops the server first.")
  boolean stalledReader;

  @Override
  public Integer call() throws Exception {
    if (pid != null || jmxAddress != null) {
      return sampleOtherJvm();
    }
    if (!workload.equals("download") && !workload.equals("unary")) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--workload must be download or unary, not " + workload);
    }
    if (channelCount < 1 || serverPollers < 0 || serverExecutorThreads < 0
        || (directExecutor && serverExecutorThreads > 0)) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--channels must be at least 1, --server-pollers and --server-executor-threads at "
              + "least 0, and --direct-executor excludes --server-executor-threads");
    }
    LeanServerBuilder serverBuilder = LeanServerBuilder.forPort(0);
    if (serverPollers > 0) {
      serverBuilder.pollerThreads(serverPollers);
    }
    ExecutorService handlers = serverExecutorThreads > 0
        ? Executors.newFixedThreadPool(serverExecutorThreads) : null;
    if (handlers != null) {
      serverBuilder.executor(handlers);
    } else if (directExecutor) {
      serverBuilder.directExecutor();
    }
    Server server = serverBuilder.addService(ServerInterceptors.intercept(
        BenchService.definition(), new HandlerWork(handlerBlockMicros, handlerSpinMicros)))
        .build().start();
    StallingRelay relay = stalledReader ? new StallingRelay(server.getPort()) : null;
    LeanChannelBuilder channelBuilder = LeanChannelBuilder.forAddress("127.0.0.1",
        relay != null ? relay.port() : server.getPort()).usePlaintext()
        .flowControlWindow(windowBytes)
        .maxInboundMessageSize(Math.max(4 << 20, messageBytes + 1024));
    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i < channelCount; i++) {
      channels.add(channelBuilder.build());
    }
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> callers = new ArrayList<>();
    Thread storm = gcStorm ? new Thread(() -> forceCollections(stop), "doctor-gc-storm") : null;
    try {
      if (storm != null) {
        storm.setDaemon(true);
        storm.start();
      }
      for (int i = 0; i < concurrency; i++) {
        ManagedChannel channel = channels.get(i % channels.size());
        Thread t = new Thread(() -> drive(channel, stop), "doctor-load-" + i);
        t.setDaemon(true);
        t.start();
        callers.add(t);
      }
      Thread.sleep((long) (warmupSeconds * 1000));
      ConnectionStatsGroup serverStats = serverBuilder.connectionStats();
      ConnectionStatsGroup clientStats = channelBuilder.connectionStats();
      DoctorChart.Side serverSide = new DoctorChart.Side("server");
      DoctorChart.Side clientSide = new DoctorChart.Side("client");
      sampleWithRoundTripProbes(serverStats, serverSide, clientStats, clientSide);
      if (chart != null) {
        DoctorChart.write("qps-doctor " + workload, List.of(serverSide, clientSide), chart);
      }
      print(spec.commandLine().getOut(), first(serverSide), last(serverSide), first(clientSide),
          last(clientSide));
    } finally {
      stop.set(true);
      channels.forEach(ManagedChannel::shutdownNow);
      server.shutdownNow();
      for (Thread t : callers) {
        t.join(TimeUnit.SECONDS.toMillis(5));
      }
      if (storm != null) {
        storm.join(TimeUnit.SECONDS.toMillis(5));
      }
      if (relay != null) {
        relay.close();
      }
      for (ManagedChannel c : channels) {
        c.awaitTermination(5, TimeUnit.SECONDS);
      }
      server.awaitTermination(5, TimeUnit.SECONDS);
      if (handlers != null) {
        handlers.shutdownNow();
      }
    }
    return 0;
  }

  /**
   * Waits out the sampled period, snapshotting both sides into {@code serverSide} and {@code
   * clientSide} at its start and every {@link #PROBE_INTERVAL_MILLIS} (the chart's intervals), and
   * asking for a PING round trip as often (the doctor's BDP estimate: throughput x round trip
   * under load; {@link ConnectionStatsGroup#probeRoundTrips()}), on both sides: each side's
   * verdicts use its own round trips.
   */
  private void sampleWithRoundTripProbes(ConnectionStatsGroup serverStats,
      DoctorChart.Side serverSide, ConnectionStatsGroup clientStats, DoctorChart.Side clientSide)
      throws InterruptedException {
    serverSide.samples.add(serverStats.snapshot());
    clientSide.samples.add(clientStats.snapshot());
    long end = System.nanoTime() + (long) (durationSeconds * 1e9);
    while (true) {
      serverStats.probeRoundTrips();
      clientStats.probeRoundTrips();
      long left = end - System.nanoTime();
      if (left > 0) {
        Thread.sleep(Math.min(PROBE_INTERVAL_MILLIS, TimeUnit.NANOSECONDS.toMillis(left) + 1));
      }
      serverSide.samples.add(serverStats.snapshot());
      clientSide.samples.add(clientStats.snapshot());
      if (System.nanoTime() - end >= 0) {
        return;
      }
    }
  }

  private static LeanConnectionStats first(DoctorChart.Side side) {
    return side.samples.get(0);
  }

  private static LeanConnectionStats last(DoctorChart.Side side) {
    return side.samples.get(side.samples.size() - 1);
  }

  /** Forces collections back to back over 16 MiB of live small arrays until stopped. */
  private static void forceCollections(AtomicBoolean stop) {
    List<byte[]> live = new ArrayList<>();
    for (int i = 0; i < 16 * 1024; i++) {
      live.add(new byte[1024]);
    }
    while (!stop.get()) {
      System.gc();
    }
    if (live.isEmpty()) {
      throw new AssertionError("the live set must stay reachable until the end");
    }
  }

  /**
   * Work each call's handler does before the service runs, on the thread grpc-core runs the
   * handler on (the server's executor): blocking, then spinning. Thread-safe (stateless).
   */
  private static final class HandlerWork implements ServerInterceptor {
    private final long blockNanos;
    private final long spinNanos;

    HandlerWork(long blockMicros, long spinMicros) {
      this.blockNanos = TimeUnit.MICROSECONDS.toNanos(blockMicros);
      this.spinNanos = TimeUnit.MICROSECONDS.toNanos(spinMicros);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
        ServerCallHandler<Q, R> next) {
      long end = System.nanoTime() + blockNanos;
      while (blockNanos > 0 && System.nanoTime() < end) {
        LockSupport.parkNanos(end - System.nanoTime());
      }
      end = System.nanoTime() + spinNanos;
      while (spinNanos > 0 && System.nanoTime() < end) {
        Thread.onSpinWait();
      }
      return next.startCall(call, headers);
    }
  }

  /** {@code --pid} or {@code --jmx}: the other JVM's servers and channels over JMX. */
  private int sampleOtherJvm() throws Exception {
    if (pid != null && jmxAddress != null) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--pid and --jmx exclude each other");
    }
    String what = pid != null ? "JVM " + pid : "JMX " + jmxAddress;
    try (javax.management.remote.JMXConnector c =
        pid != null ? RemoteDoctor.attach(pid) : RemoteDoctor.connect(jmxAddress)) {
      if (!RemoteDoctor.sample(c.getMBeanServerConnection(), what, durationSeconds, json,
          chart, spec.commandLine().getOut())) {
        spec.commandLine().getErr().println("qps-doctor: " + what
            + " has no lean server or channel (no dev.grpclean MBean)");
        spec.commandLine().getErr().flush();
        return 1;
      }
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
      o.addProperty("setup", setup().replaceFirst("^, ", ""));
      o.add("server", side(server, serverAfter.minus(serverBefore)));
      o.add("client", side(client, clientAfter.minus(clientBefore)));
      if (chart != null) {
        o.addProperty("chart", chart.toString());
      }
      out.println(new GsonBuilder().setPrettyPrinting().create().toJson(o));
    } else {
      out.printf(Locale.ROOT, "qps-doctor: %s, %d in flight, %d-byte messages, client window "
          + "%d bytes%s, %.1f s sampled%n", workload, concurrency, messageBytes, windowBytes,
          setup(), seconds);
      out.println("server side:");
      out.print(indent(QpsDoctor.report(server)));
      out.println("client side:");
      out.print(indent(QpsDoctor.report(client)));
      if (chart != null) {
        out.println("chart: " + chart);
      }
    }
    out.flush();
  }

  /** The options that induce a bottleneck, as they were given; empty when none was. */
  private String setup() {
    StringBuilder sb = new StringBuilder();
    if (channelCount > 1) {
      sb.append(", ").append(channelCount).append(" channels");
    }
    if (serverPollers > 0) {
      sb.append(", server pollerThreads ").append(serverPollers);
    }
    if (directExecutor) {
      sb.append(", server handlers on the poller threads (direct executor)");
    }
    if (serverExecutorThreads > 0) {
      sb.append(", server executor of ").append(serverExecutorThreads).append(" thread(s)");
    }
    if (handlerBlockMicros > 0) {
      sb.append(", handlers block ").append(handlerBlockMicros).append(" us");
    }
    if (handlerSpinMicros > 0) {
      sb.append(", handlers spin ").append(handlerSpinMicros).append(" us");
    }
    if (gcStorm) {
      sb.append(", forced GC storm");
    }
    if (stalledReader) {
      sb.append(", a client that stops reading after ").append(StallingRelay.FORWARDED_BYTES >> 20)
          .append(" MiB");
    }
    return sb.toString();
  }

  static JsonObject side(List<QpsDoctor.Verdict> verdicts, LeanConnectionStats delta) {
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
    JsonObject histograms = new JsonObject();
    for (LeanConnectionStats.Histogram h : LeanConnectionStats.Histogram.values()) {
      JsonObject j = new JsonObject();
      j.addProperty("count", delta.histogramCount(h));
      j.addProperty("p50", delta.percentile(h, 0.5));
      j.addProperty("p99", delta.percentile(h, 0.99));
      histograms.add(h.name(), j);
    }
    // Per-stream summaries (STREAM_*) included: the streams that ended while sampled.
    o.add("histograms", histograms);
    return o;
  }

  static String indent(String text) {
    return "  " + text.replace("\n", "\n  ").replaceAll(" +$", "");
  }
}
