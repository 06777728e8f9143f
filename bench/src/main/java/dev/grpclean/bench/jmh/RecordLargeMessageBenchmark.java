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
 * One 1 MiB message through the record layer over a loopback socket pair, as grpc-go's ALTS
 * {@code BenchmarkLargeMessage}: the sender copies 64 KiB pieces into the writer's I/O lease,
 * seals each into a second lease and writes it; the receiver reads 64 KiB leases and opens the
 * records in place (see {@link RecordPipe}). One thread does both, draining the receiver whenever
 * the socket is full. Ops/s times 1 MiB is the goodput; {@code -prof gc} gives bytes per message.
 *
 * <p>{@code scripts/jmh RecordLargeMessageBenchmark -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RecordLargeMessageBenchmark {
  @Param({"alts_rekey", "plain"})
  public String security;

  @Param({"1048576"})
  public int messageBytes;

  private RecordPipe pipe;
  private byte[] message;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    pipe = new RecordPipe(security);
    message = new byte[messageBytes];
    new Random(1).nextBytes(message);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    pipe.close();
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
