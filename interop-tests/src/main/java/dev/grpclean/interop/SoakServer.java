package dev.grpclean.interop;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.sun.management.UnixOperatingSystemMXBean;
import dev.grpclean.transport.LeanTransportStats;
import io.grpc.Attributes;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.ServerBuilder;
import io.grpc.ServerStreamTracer;
import io.grpc.ServerTransportFilter;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The soak server command: grpc's test service (as {@link InteropServer} hosts it) on a plaintext
 * server, sampling its own JVM every {@code --sample_seconds} into {@code --samples_file} and
 * stdout as {@link SoakSample} CSV lines. On SIGTERM (or any orderly exit) it waits for the
 * connections to drain and the last leases to come back, takes one {@code idle} sample, then
 * shuts the server down; {@code scripts/soak} judges the file with {@link SoakJudge}.
 *
 * <p>Heap is measured after a forced full GC ({@code System.gc()}), not read from {@code
 * MemoryPoolMXBean.getCollectionUsage()}: with G1 the old generation's collection usage is updated
 * only by old-generation collections, which a steady workload may never trigger, so that figure
 * can be minutes stale and is not comparable from one sample to the next. The forced GC gives the
 * figure one meaning at every sample: the live set at that instant. It costs a full-GC pause per
 * sample, 50 to 200 ms for this server's 15 MiB live set on a busy 2-core machine: 1 to 4% of the
 * time at the short form's sample every 5 s, under 1% at the long form's every 20 s.
 *
 * <p>Threads: main parses flags, starts everything and blocks until the server terminates; one
 * daemon thread ({@code soak-sampler}) takes the periodic samples and owns the writer until the
 * shutdown hook stops it; the shutdown hook then owns the writer for the idle sample.
 */
public final class SoakServer {
  /** Bound on waiting for the clients' connections to close before the idle sample. */
  private static final Duration DRAIN_WAIT = Duration.ofSeconds(15);
  /** Bound on waiting for the last leases to come back (a write's lease ends after its flush). */
  private static final Duration LEASE_RETURN_WAIT = Duration.ofSeconds(5);
  private static final long LEASE_POLL_MILLIS = 20;

  private static final Set<String> FLAGS =
      Set.of("port", "transport", "sample_seconds", "samples_file");
  private static final String USAGE =
      "Usage: soak-server [--flag=value ...]\n"
          + "  --port=PORT                    port to listen on, 0 for a free one. Default 0\n"
          + "  --transport=lean|netty|okhttp  server transport (netty/okhttp as a control; their\n"
          + "                                 lean pool figures stay 0). Default lean\n"
          + "  --sample_seconds=K             sampling period. Default 5\n"
          + "  --samples_file=PATH            CSV output, also printed. Default soak-samples.csv\n";

  private final OpenConnections connections = new OpenConnections();
  private final CallCounter calls = new CallCounter();
  private final long startNanos = System.nanoTime();
  private final BufferedWriter out; // owned by the sampler thread, then by the shutdown hook

  private SoakServer(BufferedWriter out) {
    this.out = out;
  }

  public static void main(String[] args) throws Exception {
    TransportKind transport;
    int port;
    int sampleSeconds;
    Path samplesFile;
    try {
      Flags flags = Flags.parse(args, FLAGS);
      transport = TransportKind.fromFlags(flags);
      port = flags.integer("port", 0);
      sampleSeconds = flags.integer("sample_seconds", 5);
      samplesFile = Path.of(flags.string("samples_file", "soak-samples.csv"));
      if (sampleSeconds < 1) {
        throw new Flags.UsageException("--sample_seconds must be at least 1");
      }
    } catch (Flags.UsageException e) {
      e.exitWithUsage(USAGE);
      return;
    }
    Path parent = samplesFile.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    SoakServer soak = new SoakServer(Files.newBufferedWriter(samplesFile, StandardCharsets.UTF_8));
    ServerBuilder<?> builder = transport.serverBuilder(port, InsecureServerCredentials.create());
    builder.addTransportFilter(soak.connections);
    builder.addStreamTracerFactory(soak.calls);
    TestServiceHost host = TestServiceHost.start(builder);
    ScheduledExecutorService sampler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "soak-sampler");
              t.setDaemon(true);
              return t;
            });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(() -> soak.shutDown(sampler, host), "soak-server-shutdown"));
    soak.write(SoakSample.HEADER);
    sampler.scheduleAtFixedRate(
        () -> soak.write(soak.sample(SoakSample.Kind.PERIODIC).toCsv()),
        0,
        sampleSeconds,
        TimeUnit.SECONDS);
    System.out.println("Server started on port " + host.port() + " (transport " + transport
        + ", sampling every " + sampleSeconds + "s into " + samplesFile + ")");
    host.awaitTermination();
  }

  /** Stops sampling, waits for the clients to go, takes the idle sample, stops the server. */
  private void shutDown(ScheduledExecutorService sampler, TestServiceHost host) {
    try {
      sampler.shutdownNow();
      if (!sampler.awaitTermination(30, TimeUnit.SECONDS)) {
        System.err.println("soak: the sampler did not stop; no idle sample");
        return;
      }
      if (!connections.awaitNone(DRAIN_WAIT)) {
        System.err.println("soak: " + connections.open() + " connections still open after "
            + DRAIN_WAIT.toSeconds() + "s; idle sample taken anyway");
      }
      long deadline = System.nanoTime() + LEASE_RETURN_WAIT.toNanos();
      while (LeanTransportStats.leasedBytes() != 0 && System.nanoTime() < deadline) {
        Thread.sleep(LEASE_POLL_MILLIS); // a bounded poll, like LeanLeases in the tests
      }
      write(sample(SoakSample.Kind.IDLE).toCsv());
      if (LeanTransportStats.leasedBytes() != 0) {
        System.err.println("soak: leases outstanding at idle: " + LeanTransportStats.describe());
      }
      out.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      System.err.println("soak: closing the samples file: " + e);
    } finally {
      host.close();
    }
  }

  private SoakSample sample(SoakSample.Kind kind) {
    System.gc();
    return new SoakSample(
        kind,
        (System.nanoTime() - startNanos) / 1e9,
        ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(),
        directBytes(),
        rssBytes(),
        LeanTransportStats.leasedBytes(),
        LeanTransportStats.leasesOutstanding(),
        LeanTransportStats.heapPool().leasedBytes(),
        // The three direct pools: inbound and outbound kept buffers fill up like the I/O pool's.
        LeanTransportStats.ioPool().pooledBytes() + LeanTransportStats.inboundPool().pooledBytes()
            + LeanTransportStats.outboundPool().pooledBytes(),
        LeanTransportStats.heapPool().pooledBytes(),
        ManagementFactory.getThreadMXBean().getThreadCount(),
        openFileDescriptors(),
        connections.open(),
        connections.total(),
        calls.total());
  }

  private void write(String line) {
    try {
      out.write(line);
      out.newLine();
      out.flush();
    } catch (IOException e) {
      // Thrown from the scheduled task, this stops the sampling and the run fails for want of
      // samples; say why.
      System.err.println("soak: writing the samples file: " + e);
      throw new UncheckedIOException(e);
    }
    System.out.println(line);
  }

  private static long directBytes() {
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        return pool.getMemoryUsed();
      }
    }
    return -1;
  }

  /** The OS's count (on Linux, the entries of /proc/self/fd), or -1 off Unix. */
  private static long openFileDescriptors() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    return os instanceof UnixOperatingSystemMXBean
        ? ((UnixOperatingSystemMXBean) os).getOpenFileDescriptorCount()
        : -1;
  }

  /** VmRSS from /proc/self/status in bytes, or -1 where there is no procfs. */
  private static long rssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Not Linux: no RSS figure.
    }
    return -1;
  }

  /** Counts the calls the server starts. Thread-safe. */
  static final class CallCounter extends ServerStreamTracer.Factory {
    private static final ServerStreamTracer NO_OP = new ServerStreamTracer() {};
    private final LongAdder started = new LongAdder();

    @Override
    public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
      started.increment();
      return NO_OP;
    }

    long total() {
      return started.sum();
    }
  }

  /**
   * Counts the server's connections: transports that became ready and have not terminated. grpc
   * reports termination for transports that never became ready too (a failed handshake), so only
   * the ones marked ready here are subtracted.
   *
   * <p>Thread-safe.
   */
  static final class OpenConnections extends ServerTransportFilter {
    private static final Attributes.Key<Boolean> COUNTED =
        Attributes.Key.create("dev.grpclean.interop.soak.counted");

    @GuardedBy("this")
    private long open;
    @GuardedBy("this")
    private long total;

    @Override
    public synchronized Attributes transportReady(Attributes attributes) {
      open++;
      total++;
      return attributes.toBuilder().set(COUNTED, Boolean.TRUE).build();
    }

    @Override
    public void transportTerminated(Attributes attributes) {
      if (attributes == null || attributes.get(COUNTED) == null) {
        return;
      }
      synchronized (this) {
        open--;
        notifyAll();
      }
    }

    synchronized long open() {
      return open;
    }

    synchronized long total() {
      return total;
    }

    /** Waits until no connection is open; false if some still are after {@code timeout}. */
    synchronized boolean awaitNone(Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (open > 0) {
        long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (leftMillis <= 0) {
          return false;
        }
        wait(leftMillis);
      }
      return true;
    }
  }
}
