package dev.grpclean.bench.jmh;

import dev.grpclean.bench.Blob;
import dev.grpclean.bench.BenchService;
import io.grpc.CallOptions;
import io.grpc.stub.ClientCalls;
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
 * End-to-end unary RPCs in one JVM over loopback, lean vs netty: latency of one blocking call,
 * and with {@code -prof gc} the bytes both sides allocate per RPC. Run with {@code -t 4} for
 * several calls in flight.
 *
 * <p>{@code scripts/jmh UnaryBenchmark -p transport=lean,netty -prof gc}
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g", "-XX:+UseG1GC"})
@State(Scope.Thread)
public class UnaryBenchmark {
  @Param({"100"})
  public int payloadBytes;

  private Blob payload;

  @org.openjdk.jmh.annotations.Setup
  public void setUp() {
    payload = BenchService.constant(payloadBytes);
  }

  @Benchmark
  public Blob unary(LoopbackState loopback) {
    return ClientCalls.blockingUnaryCall(loopback.channel, BenchService.ECHO,
        CallOptions.DEFAULT, payload);
  }
}
