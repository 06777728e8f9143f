package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import dev.grpclean.bench.BenchService;
import dev.grpclean.bench.Security;
import dev.grpclean.bench.Transport;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The server side of a run: one server of the chosen transport and security on an ephemeral
 * loopback port, serving {@link BenchService}. Verbs: {@code snapshot [gc=false]},
 * {@code mark [sampleMs=N]} / {@code counters} (allocation, CPU and GC since the mark; with
 * {@code sampleMs}, in-use and retained memory sampled in between, see {@link MemorySampler}),
 * {@code watch} /
 * {@code unwatch} (peaks sampled in between, see {@link PeakSampler}) and
 * {@code settle [maxMs=N]} (waits until the JVM's CPU is quiet).
 *
 * <p>Confined to {@link ChildMain}'s thread.
 */
final class ServerRole implements ChildMain.Role {
  private final Server server;
  private final Probe probe;
  private final AllocationMeter meter = new AllocationMeter();
  private final PeakSampler sampler;
  private MemorySampler memory;

  ServerRole(Transport transport, Security security, Path keys) throws Exception {
    this.probe = new Probe(transport);
    this.sampler = new PeakSampler(probe);
    if (!security.supports(transport)) {
      throw new IllegalArgumentException(transport.id() + " does not support --security "
          + security.id());
    }
    ServerBuilder<?> builder = security == Security.INSECURE
        ? transport.serverBuilder()
        : transport.serverBuilder(security.serverCredentials(keys));
    this.server = builder.addService(BenchService.definition()).build().start();
  }

  @Override
  public JsonObject handle(String verb, Map<String, String> args) throws Exception {
    switch (verb) {
      case "ready": {
        JsonObject o = new JsonObject();
        o.addProperty("port", server.getPort());
        o.addProperty("pid", ProcessHandle.current().pid());
        return o;
      }
      case "snapshot":
        return probe.snapshot(!"false".equals(args.get("gc")));
      case "mark":
        if (memory != null) {
          memory.stop();
          memory = null;
        }
        meter.mark();
        if (args.containsKey("sampleMs")) {
          memory = new MemorySampler(probe);
          memory.start(Long.parseLong(args.get("sampleMs")));
        }
        return new JsonObject();
      case "counters": {
        JsonObject o = meter.sinceMark();
        if (memory != null) {
          JsonObject m = memory.stop();
          memory = null;
          m.remove("inUseSeconds");
          m.remove("inUseBytes");
          for (String key : m.keySet()) {
            o.add(key, m.get(key));
          }
        }
        return o;
      }
      case "watch": {
        long[] periods = PeakSampler.periods(args);
        sampler.start(periods[0], periods[1]);
        return new JsonObject();
      }
      case "unwatch":
        return sampler.stop();
      case "settle":
        return PeakSampler.settle(Long.parseLong(args.getOrDefault("maxMs", "15000")));
      default:
        throw new IllegalArgumentException("the server does not know '" + verb + "'");
    }
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
