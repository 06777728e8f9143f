package dev.grpclean.bench.jmh;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The read half of the record layer, as grpc-go's ALTS {@code BenchmarkReadMemory}: per
 * operation one message's sealed records (pre-sealed at trial setup, so sealing is not charged)
 * are written raw to a loopback socket, then read through the transport's 64 KiB I/O lease and
 * opened in place until the sink has the whole message.
 *
 * <p>Records are replayed from a batch of {@value #BATCH} messages; after each batch the
 * receiving protector is recreated with its counter at zero (one protector per 4,096 messages is
 * in the figure, amortised: a few bytes per op). The batch stays below 2^16 records, so the
 * rekeying protocol's key re-derivation is not exercised on this side.
 *
 * <p>{@code scripts/jmh RecordReadMemoryBenchmark -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RecordReadMemoryBenchmark {
  static final int BATCH = 4096;

  @Param({"alts_rekey", "plain"})
  public String security;

  @Param({"4096"})
  public int messageBytes;

  private RecordPipe pipe;
  /** BATCH messages as sealed by the sender, back to back. */
  private ByteBuffer wire;
  private int[] ends;
  private int next;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    pipe = new RecordPipe(security);
    byte[] message = new byte[messageBytes];
    new Random(3).nextBytes(message);
    int sealedBytes = pipe.sealer.maxProtectedBytes(messageBytes);
    wire = ByteBuffer.allocateDirect(sealedBytes * BATCH);
    ends = new int[BATCH];
    for (int i = 0; i < BATCH; i++) {
      pipe.sealer.protect(ByteBuffer.wrap(message), wire);
      ends[i] = wire.position();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    pipe.close();
  }

  @Benchmark
  public int readAndOpen() throws Exception {
    if (next == BATCH) {
      pipe.resetOpener();
      next = 0;
    }
    int start = next == 0 ? 0 : ends[next - 1];
    wire.limit(ends[next]).position(start);
    next++;
    long target = pipe.plaintextReceived + messageBytes;
    pipe.writeFully(wire, true);
    while (pipe.plaintextReceived < target) {
      pipe.readAndOpen();
    }
    return pipe.checksum;
  }
}
