package dev.grpclean.alts.record;

import dev.grpclean.transport.spi.RecordProtector.PlaintextSink;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A quick loop, not a benchmark: seals and opens records through {@link AltsRecordProtector} with
 * each provider and buffer kind, printing payload throughput per CPU-second of the sealing thread
 * (so load from other processes matters less than with wall time) and bytes allocated per record.
 * Providers run in interleaved rounds; the median round is reported. It backs the default in
 * {@link GcmProvider}; the formal JMH trio lives in the bench module.
 *
 * <p>Run: {@code java -cp <test-classpath> dev.grpclean.alts.record.GcmThroughputProbe
 * [roundSeconds [rounds]]}.
 *
 * <p>Thread-compatible (single-threaded main).
 */
public final class GcmThroughputProbe {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private GcmThroughputProbe() {}

  public static void main(String[] args) throws Exception {
    double roundSeconds = args.length > 0 ? Double.parseDouble(args[0]) : 0.2;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
    int[] recordSizes = {AltsRecordProtector.DEFAULT_RECORD_BYTES, 16 << 10};
    System.out.printf("%-10s %-7s %-6s %12s %12s %14s%n", "provider", "record", "buffer",
        "median MiB/s", "best MiB/s", "alloc B/record");
    for (int recordBytes : recordSizes) {
      for (boolean direct : new boolean[] {true, false}) {
        List<Loop> loops = new ArrayList<>();
        for (GcmProvider provider : GcmProvider.values()) {
          if (provider.available()) {
            loops.add(new Loop(provider, recordBytes, direct));
          }
        }
        for (int w = 0; w < 10; w++) {
          for (Loop loop : loops) {
            loop.round(roundSeconds); // Warm-up: C2 must compile the AES and GHASH intrinsics.
          }
        }
        // Interleaved rounds, so load from elsewhere hits every provider alike.
        List<List<Double>> rates = new ArrayList<>();
        long[] alloc = new long[loops.size()];
        for (int i = 0; i < loops.size(); i++) {
          rates.add(new ArrayList<>());
        }
        for (int r = 0; r < rounds; r++) {
          for (int i = 0; i < loops.size(); i++) {
            double[] result = loops.get(i).round(roundSeconds);
            rates.get(i).add(result[0]);
            alloc[i] = (long) result[1];
          }
        }
        for (int i = 0; i < loops.size(); i++) {
          List<Double> sorted = new ArrayList<>(rates.get(i));
          Collections.sort(sorted);
          System.out.printf("%-10s %-7d %-6s %12.0f %12.0f %14d%n", loops.get(i).provider,
              recordBytes, direct ? "direct" : "heap", sorted.get(sorted.size() / 2),
              sorted.get(sorted.size() - 1), alloc[i]);
        }
      }
    }
  }

  /**
   * One provider's seal+open loop, round-robin over a few connections with different keys, as a
   * poller thread serving several connections would (so per-record key setup is not skipped).
   */
  private static final class Loop {
    static final int CONNECTIONS = 4;
    final GcmProvider provider;
    final AltsRecordProtector[] clients = new AltsRecordProtector[CONNECTIONS];
    final AltsRecordProtector[] servers = new AltsRecordProtector[CONNECTIONS];
    final ByteBuffer plaintext;
    final ByteBuffer wire;
    final PlaintextSink sink = p -> p.position(p.limit());

    Loop(GcmProvider provider, int recordBytes, boolean direct) {
      this.provider = provider;
      for (int i = 0; i < CONNECTIONS; i++) {
        byte[] key = new byte[44];
        new SecureRandom().nextBytes(key);
        clients[i] = AltsRecordProtector.create(RecordProtocol.AES_128_GCM_REKEY, true, key, key,
            recordBytes, AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES, provider);
        servers[i] = AltsRecordProtector.create(RecordProtocol.AES_128_GCM_REKEY, false, key,
            key, recordBytes, AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES, provider);
      }
      int payload = clients[0].maxPayloadBytes();
      plaintext = direct ? ByteBuffer.allocateDirect(payload) : ByteBuffer.allocate(payload);
      wire = direct ? ByteBuffer.allocateDirect(recordBytes) : ByteBuffer.allocate(recordBytes);
    }

    /** Returns {payload MiB per CPU-second, bytes allocated per record}. */
    double[] round(double seconds) throws Exception {
      long thread = Thread.currentThread().getId();
      long records = 0;
      long alloc0 = THREADS.getThreadAllocatedBytes(thread);
      long cpu0 = THREADS.getCurrentThreadCpuTime();
      long deadline = System.nanoTime() + (long) (seconds * 1e9);
      do {
        for (int i = 0; i < 32; i++) {
          plaintext.clear();
          wire.clear();
          clients[i % CONNECTIONS].protect(plaintext, wire);
          wire.flip();
          servers[i % CONNECTIONS].unprotect(wire, sink);
        }
        records += 32;
      } while (System.nanoTime() < deadline);
      long cpu = THREADS.getCurrentThreadCpuTime() - cpu0;
      long alloc = THREADS.getThreadAllocatedBytes(thread) - alloc0;
      return new double[] {
        (double) clients[0].maxPayloadBytes() * records / (1 << 20) / (cpu / 1e9),
        (double) alloc / records
      };
    }
  }
}
