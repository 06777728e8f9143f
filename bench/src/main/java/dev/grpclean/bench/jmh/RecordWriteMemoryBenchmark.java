package dev.grpclean.bench.jmh;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;

/**
 * The write half of the record layer, as grpc-go's ALTS {@code BenchmarkWriteMemory}: per
 * operation one message is copied into the writer's 64 KiB I/O lease, sealed into a second lease
 * and written to a loopback socket, both leases released. The receiving socket is drained raw
 * (no lease, no opening) only when the sender's socket is full, so {@code gc.alloc.rate.norm} is
 * the write path's bytes per message. 4096 bytes is two ALTS records (4,072 + 24 payload bytes).
 *
 * <p>{@code scripts/jmh RecordWriteMemoryBenchmark -prof gc}
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RecordWriteMemoryBenchmark extends RecordMessageBenchmark {
  @Param({"4096"})
  public int messageBytes;

  @Override
  int messageBytes() {
    return messageBytes;
  }

  @Override
  long seed() {
    return 2;
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
