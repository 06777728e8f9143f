package dev.grpclean.bench.jmh;

import dev.grpclean.transport.pool.BufferPool;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
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
 * One lease and its release from the transport's buffer pool, against the same from Netty's
 * pooled allocator (what grpc-netty reads into). With {@code -prof gc}, the pool's steady state
 * should allocate 0 bytes per operation.
 *
 * <p>{@code scripts/jmh PoolBenchmark -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PoolBenchmark {
  /** 4 KiB: the smallest class; 16 KiB: one max-size HTTP/2 frame; 1 MiB: the largest class. */
  @Param({"4096", "16384", "1048576"})
  public int bytes;

  @Param({"true", "false"})
  public boolean direct;

  private BufferPool pool;
  private PooledByteBufAllocator netty;

  @Setup(Level.Trial)
  public void setUp() {
    pool = new BufferPool("jmh", direct, 64L << 20);
    netty = new PooledByteBufAllocator(direct);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    pool.assertNoLeaks();
  }

  @Benchmark
  public int leanLeaseRelease() {
    ByteBuffer b = pool.lease(bytes);
    int capacity = b.capacity();
    pool.release(b);
    return capacity;
  }

  @Benchmark
  public int nettyAllocateRelease() {
    ByteBuf b = netty.buffer(bytes);
    int capacity = b.capacity();
    b.release();
    return capacity;
  }
}
