package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Assume;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/**
 * Every scenario at a tiny size on real forked JVMs: the run succeeds, prints its table, writes
 * JSON, CSV and charts, and every figure that must be there is there and positive. No figure is
 * compared with a target: that is what {@code compare} on a quiet machine is for.
 */
public class ScenarioRunTest {
  @Rule public final Timeout timeout = Timeout.seconds(240);
  @Rule public final TemporaryFolder folder = new TemporaryFolder();

  @Test
  public void idleMeasuresEveryTransportPerConnection() throws IOException {
    // 160 connections, not fewer: a per-connection heap figure is a difference of two heaps
    // after GC, and at 24 connections (about 200 KiB in all) the heap's own drift between the
    // two readings once made okhttp's negative.
    CliRun run = CliRun.run(folder.getRoot().toPath(), "compare", "idle", "--connections", "160",
        "--settle-ms", "200", "--transports", "lean,netty,okhttp", "--reps", "1");
    JsonObject summary = succeeded(run, "idle");
    for (String t : List.of("lean", "netty", "okhttp")) {
      for (String side : List.of("server", "client")) {
        positive(summary, t, side + ".heapPerConn");
        present(summary, t, side + ".directPerConn");
        present(summary, t, side + ".rssPerConn");
        present(summary, t, side + ".threadsPerConn");
      }
    }
    present(summary, "lean", "server.leasedPerConn");
    present(summary, "netty", "server.nettyUsedPerConn");
    assertTrue(run.out, run.out.contains("/netty"));
    chart(run, "idle-memory-per-idle-connection.png");
  }

  @Test
  public void unaryReportsRateLatencyAllocationCpuAndSyscalls() throws IOException {
    CliRun run = CliRun.run(folder.getRoot().toPath(), "unary",
        "--duration", "1", "--warmup", "0.3", "--concurrency", "4",
        "--transports", "lean,netty");
    JsonObject summary = succeeded(run, "unary");
    assertTrue(run.out, run.out.contains("server read syscalls / RPC"));
    assertTrue(run.out, run.out.contains("client context switches / RPC"));
    for (String t : List.of("lean", "netty")) {
      for (String key : List.of("qps", "p50", "p99", "p999", "client.allocPerRpc",
          "server.allocPerRpc", "client.cpuPerRpc", "server.cpuPerRpc",
          "client.readsPerRpc", "client.writesPerRpc", "client.ctxSwitchesPerRpc",
          "server.readsPerRpc", "server.writesPerRpc", "server.ctxSwitchesPerRpc",
          "syscallsPerRpc")) {
        positive(summary, t, key);
      }
      // TCP segments come from iproute2's ss; a machine without it reports none (not an error).
      if (ssAvailable()) {
        positive(summary, t, "client.segmentsPerRpc");
        positive(summary, t, "server.segmentsPerRpc");
      }
      assertTrue(median(summary, t, "p99") >= median(summary, t, "p50"));
    }
  }

  @Test
  public void unaryWithStraceCountsSocketIoOfBothTransports() throws IOException {
    Assume.assumeTrue("strace is not installed",
        SyscallTrace.locate("strace", System.getenv("PATH")) != null);
    CliRun run = CliRun.run(folder.getRoot().toPath(), "unary",
        "--duration", "1", "--warmup", "0.3", "--concurrency", "4",
        "--transports", "lean,netty", "--syscalls", "strace");
    Assume.assumeFalse("no ptrace rights here", run.exitCode == 1
        && run.err.contains("attaching needs ptrace rights"));
    JsonObject summary = succeeded(run, "unary");
    assertTrue(run.out, run.out.contains("syscalls=strace"));
    assertTrue(run.out, run.out.contains("server (strace) socket write/writev/send* / RPC"));
    for (String t : List.of("lean", "netty")) {
      for (String side : List.of("client", "server")) {
        // Netty reads with recvfrom, which procfs does not see; strace does.
        positive(summary, t, side + ".straceSocketReadsPerRpc");
        positive(summary, t, side + ".straceSocketWritesPerRpc");
        positive(summary, t, side + ".straceFutexesPerRpc");
        positive(summary, t, side + ".straceSyscallsPerRpc");
        present(summary, t, side + ".straceEpollWaitsPerRpc");
        present(summary, t, side + ".straceWakeupIoPerRpc");
        Path table = run.dir.resolve("logs").resolve("unary-" + t + "-1-" + side + ".strace");
        assertTrue(table + " missing", Files.readString(table).contains("total"));
        assertTrue(!Files.exists(table.resolveSibling(table.getFileName() + ".lines")));
      }
      positive(summary, t, "straceSocketIoPerRpc");
    }
    JsonObject raw = run.json("unary").getAsJsonArray("runs").get(0).getAsJsonObject()
        .getAsJsonObject("raw").getAsJsonObject("serverStrace");
    assertTrue(raw.toString(), raw.getAsJsonObject("table").has("futex"));
    assertTrue(raw.toString(), raw.getAsJsonObject("readsAndWritesByFd").has("socket"));
  }

  @Test
  public void unaryWithPreloadCountsSocketIoOfBothTransports() throws IOException {
    Assume.assumeTrue("gcc is not installed",
        SyscallTrace.locate("gcc", System.getenv("PATH")) != null);
    CliRun run = CliRun.run(folder.getRoot().toPath(), "unary",
        "--duration", "1", "--warmup", "0.3", "--concurrency", "4",
        "--transports", "lean,netty", "--syscalls", "preload");
    JsonObject summary = succeeded(run, "unary");
    assertTrue(run.out, run.out.contains("syscalls=preload"));
    assertTrue(run.out, run.out.contains("socket reads+writes, both sides (preload) / RPC"));
    assertTrue(Files.isRegularFile(run.dir.resolve("preload/libgrpclean-syscount.so")));
    for (String t : List.of("lean", "netty")) {
      for (String side : List.of("client", "server")) {
        // Netty reads with recvfrom, which procfs does not see; the library does.
        positive(summary, t, side + ".preloadSocketReadsPerRpc");
        positive(summary, t, side + ".preloadSocketWritesPerRpc");
        positive(summary, t, side + ".preloadBytesPerSocketRead");
        positive(summary, t, side + ".preloadEpollWaitsPerRpc");
        present(summary, t, side + ".preloadFailedSocketReadsPerRpc");
        present(summary, t, side + ".preloadWakeupIoPerRpc");
        assertTrue(Files.isRegularFile(
            run.dir.resolve("logs").resolve("unary-" + t + "-1-" + side + ".syscount")));
      }
      positive(summary, t, "preloadSocketIoPerRpc");
      // Wake-ups add at least the client's reply line to the parent (a pipe write in the window).
      positive(summary, t, "client.preloadWakeupIoPerRpc");
      assertTrue(median(summary, t, "preloadReadWriteIoPerRpc")
          > median(summary, t, "preloadSocketIoPerRpc"));
      // Every byte one side wrote in the window the other read (all RPCs completed in it): the
      // library saw all socket I/O of both, whichever calls each transport makes.
      JsonObject raw = null;
      for (var e : run.json("unary").getAsJsonArray("runs")) {
        if (e.getAsJsonObject().get("transport").getAsString().equals(t)) {
          raw = e.getAsJsonObject().getAsJsonObject("raw");
        }
      }
      long clientWrote = raw.getAsJsonObject("clientPreload").get("SOCKET_WRITE_BYTES")
          .getAsLong();
      long serverRead = raw.getAsJsonObject("serverPreload").get("SOCKET_READ_BYTES")
          .getAsLong();
      assertTrue(t + ": client wrote " + clientWrote + ", server read " + serverRead,
          clientWrote > 0 && Math.abs(clientWrote - serverRead) <= clientWrote / 50);
    }
  }

  @Test
  public void downloadSamplesInUseMemory() throws IOException {
    CliRun run = CliRun.run(folder.getRoot().toPath(), "download", "--duration", "2",
        "--warmup", "0", "--channels", "2", "--stream-mib", "2", "--message-kib", "64",
        "--transports", "lean,netty");
    JsonObject summary = succeeded(run, "download");
    for (String t : List.of("lean", "netty")) {
      positive(summary, t, "client.inUseAverage");
      positive(summary, t, "mibPerSecond");
      assertTrue(median(summary, t, "client.inUsePeak")
          >= median(summary, t, "client.inUseAverage"));
    }
    for (com.google.gson.JsonElement e : run.json("download").getAsJsonArray("runs")) {
      JsonObject r = e.getAsJsonObject();
      JsonObject values = r.getAsJsonObject("values");
      // The retained average is exactly its two parts' averages, sampled together.
      double heap = values.get("client.retainedHeapAverage").getAsDouble();
      double direct = values.get("client.directAverage").getAsDouble();
      assertTrue(heap > 0 && direct >= 0);
      assertEquals(values.get("client.retainedAverage").getAsDouble(), heap + direct,
          1e-6 * (heap + direct));
      if (r.get("transport").getAsString().equals("lean")) {
        JsonObject client = r.getAsJsonObject("raw").getAsJsonObject("client");
        for (String pool : List.of("io", "inbound", "outbound", "heap")) {
          assertTrue(pool, client.has(pool + "PoolLeasedAverage"));
          assertTrue(pool, client.get(pool + "PoolKeptAverage").getAsDouble() >= 0);
        }
        // The messages themselves wait in the inbound pool's leases.
        assertTrue(client.get("inboundPoolLeasedAverage").getAsDouble() > 0);
      }
    }
    JsonObject series = run.json("download").getAsJsonArray("runs").get(0).getAsJsonObject()
        .getAsJsonObject("series").getAsJsonObject("inUse");
    assertTrue(series.getAsJsonArray("y").size() >= 2);
    assertEquals(series.getAsJsonArray("x").size(), series.getAsJsonArray("y").size());
    chart(run, "download-inuse-over-time.png");
  }

  @Test
  public void streamReportsThroughputAndAllocationPerMib() throws IOException {
    JsonObject summary = succeeded(CliRun.run(folder.getRoot().toPath(), "stream",
        "--duration", "2", "--warmup", "0", "--message-kib", "64", "--transports", "lean,netty"),
        "stream");
    for (String t : List.of("lean", "netty")) {
      positive(summary, t, "mibPerSecond");
      positive(summary, t, "client.allocPerMib");
      positive(summary, t, "server.cpuPerMib");
      for (String side : List.of("client", "server")) {
        positive(summary, t, side + ".readsPerMib");
        positive(summary, t, side + ".writesPerMib");
        positive(summary, t, side + ".ctxSwitchesPerMib");
      }
      // A MiB is more than one segment whatever the MSS.
      assertTrue(median(summary, t, "server.segmentsPerMib") >= 1);
    }
    // Lean's JDK sockets read with read(2), which syscr counts (Netty's recv(2) it does not):
    // at least one read per 64 KiB read buffer.
    assertTrue(median(summary, "lean", "client.readsPerMib") >= 1);
  }

  @Test
  public void largeReportsQps() throws IOException {
    JsonObject summary = succeeded(CliRun.run(folder.getRoot().toPath(), "large",
        "--duration", "2", "--warmup", "0", "--concurrency", "2", "--payload", "262144",
        "--transports", "lean,netty"), "large");
    for (String t : List.of("lean", "netty")) {
      positive(summary, t, "qps");
      positive(summary, t, "mibPerSecond");
    }
  }

  @Test
  public void trickleSetsServerMemoryAgainstPendingBytes() throws IOException {
    JsonObject summary = succeeded(CliRun.run(folder.getRoot().toPath(), "trickle",
        "--connections", "3", "--pending-kib", "64", "--pause-ms", "1", "--settle-ms", "200",
        "--transports", "lean,netty"), "trickle");
    for (String t : List.of("lean", "netty")) {
      assertEquals(64 * 1024, median(summary, t, "pendingPerConn"), 0);
      positive(summary, t, "server.memoryPerConn");
      positive(summary, t, "server.amplification");
    }
  }

  private static JsonObject succeeded(CliRun run, String scenario) throws IOException {
    assertEquals(run.toString(), 0, run.exitCode);
    assertTrue(run.out, run.out.contains("== " + scenario));
    assertTrue(run.err, !run.err.contains("\tat "));
    List<String> csv = Files.readAllLines(run.dir.resolve(scenario + ".csv"),
        StandardCharsets.UTF_8);
    assertEquals("scenario,transport,rep,metric,base_unit,value", csv.get(0));
    assertTrue(csv.size() > 1);
    for (String line : csv.subList(1, csv.size())) {
      assertEquals(line, 6, line.split(",", -1).length);
      Double.parseDouble(line.split(",")[5]);
    }
    JsonObject json = run.json(scenario);
    assertEquals(scenario, json.get("scenario").getAsString());
    assertTrue(json.getAsJsonArray("runs").size() > 0);
    return json.getAsJsonObject("summary");
  }

  private static void chart(CliRun run, String name) throws IOException {
    Path png = run.dir.resolve(name);
    assertTrue(png + " missing", Files.exists(png));
    byte[] head = Files.readAllBytes(png);
    assertTrue(head.length > 1000);
    assertEquals((byte) 0x89, head[0]);
    assertEquals('P', head[1]);
  }

  private static double median(JsonObject summary, String transport, String key) {
    JsonObject figures = summary.getAsJsonObject(transport);
    assertTrue(transport + " has no " + key + ": " + figures, figures.has(key));
    return figures.getAsJsonObject(key).get("median").getAsDouble();
  }

  private static void present(JsonObject summary, String transport, String key) {
    double v = median(summary, transport, key);
    assertTrue(transport + " " + key + " = " + v, !Double.isNaN(v) && !Double.isInfinite(v));
  }

  private static void positive(JsonObject summary, String transport, String key) {
    double v = median(summary, transport, key);
    assertTrue(transport + " " + key + " = " + v, v > 0 && !Double.isInfinite(v));
  }

  private static boolean ssAvailable() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, "ss"))) {
        return true;
      }
    }
    return false;
  }
}
