package dev.grpclean.bench.jmh;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;

/**
 * One 1 MiB message through the record layer over a loopback socket pair, as grpc-go's ALTS
 * {@code BenchmarkLargeMessage}: the sender copies 64 KiB pieces into the writer's I/O lease,
 * seals each into a second lease and writes it; the receiver reads 64 KiB leases and opens the
 * records in place (see {@link RecordPipe}). One thread does both, draining the receiver whenever
 * the socket is full. Ops/s times 1 MiB is the goodput; {@code -prof gc} gives bytes per message.
 *
 * <p>{@code scripts/jmh RecordLargeMessageBenchmark -prof gc}
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RecordLargeMessageBenchmark extends RecordMessageBenchmark {
  @Param({"1048576"})
  public int messageBytes;

  @Override
  int messageBytes() {
    return messageBytes;
  }

  @Override
  long seed() {
    return 1;
  }

  @Benchmark
  public int largeMessage() throws Exception {
    long target = pipe.plaintextReceived + messageBytes;
    int sent = 0;
    while (sent < messageBytes) {
      ByteBuffer out = pipe.io.lease(RecordPipe.WRITE_BUFFER_BYTES);
      try {
        int n = Math.min(out.remaining(), messageBytes - sent);
        out.put(message, sent, n).flip();
        pipe.sealAndWrite(out, true);
        sent += n;
      } finally {
        pipe.io.release(out);
      }
    }
    while (pipe.plaintextReceived < target) {
      pipe.readAndOpen();
    }
    return pipe.checksum;
  }
}
