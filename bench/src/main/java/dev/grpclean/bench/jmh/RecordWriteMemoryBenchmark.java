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
 * The write half of the record layer, as grpc-go's ALTS {@code BenchmarkWriteMemory}: per
 * operation one message is copied into the writer's 64 KiB I/O lease, sealed into a second lease
 * and written to a loopback socket, both leases released. The receiving socket is drained raw
 * (no lease, no opening) only when the sender's socket is full, so {@code gc.alloc.rate.norm} is
 * the write path's bytes per message. 4096 bytes is two ALTS records (4,072 + 24 payload bytes).
 *
 * <p>{@code scripts/jmh RecordWriteMemoryBenchmark -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RecordWriteMemoryBenchmark {
  @Param({"alts_rekey", "plain"})
  public String security;

  @Param({"4096"})
  public int messageBytes;

  private RecordPipe pipe;
  private byte[] message;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    pipe = new RecordPipe(security);
    message = new byte[messageBytes];
    new Random(2).nextBytes(message);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    pipe.close();
  }

  @Benchmark
  public int sealAndWrite() throws Exception {
    ByteBuffer out = pipe.io.lease(RecordPipe.WRITE_BUFFER_BYTES);
    try {
      out.put(message).flip();
      pipe.sealAndWrite(out, false);
    } finally {
      pipe.io.release(out);
    }
    return messageBytes;
  }
}
