package dev.grpclean.bench.jmh;

import dev.grpclean.bench.Blob;
import dev.grpclean.bench.BenchService;
import io.grpc.CallOptions;
import io.grpc.stub.ClientCalls;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * End-to-end server streaming in one JVM over loopback: one operation downloads 16 MiB as
 * {@code messageBytes} messages. {@code -prof gc} gives bytes allocated per 16 MiB moved.
 *
 * <p>{@code scripts/jmh StreamBenchmark -p transport=lean,netty -prof gc}
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g", "-XX:+UseG1GC"})
@State(Scope.Thread)
public class StreamBenchmark {
  /** Bytes downloaded per operation. */
  static final long BYTES_PER_OP = 16L << 20;

  @Param({"1048576", "65536"})
  public int messageBytes;

  @Benchmark
  public long download16MiB(LoopbackState loopback) {
    Iterator<Blob> messages = ClientCalls.blockingServerStreamingCall(loopback.channel,
        BenchService.DOWNLOAD, CallOptions.DEFAULT,
        BenchService.downloadRequest(BYTES_PER_OP, messageBytes));
    long received = 0;
    while (messages.hasNext()) {
      received += messages.next().length();
    }
    return received;
  }
}
