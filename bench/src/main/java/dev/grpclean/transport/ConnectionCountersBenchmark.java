package dev.grpclean.transport;

import dev.grpclean.transport.frame.FrameType;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the connection counters cost one side of one unary RPC: the counter calls the loop code
 * makes for it (this class sits in the transport's package to reach them), on a busy connection
 * (histograms on), with counting {@code on} and off. The difference, against the bench's CPU per
 * RPC ({@code scripts/bench compare unary}: 60-80 us per side here), is the counters' share of the
 * CPU; the poller thread's figures add two {@code nanoTime} reads per blocking select on top.
 * Run with {@code scripts/jmh ConnectionCountersBenchmark -prof gc} (0 B/op: nothing allocated).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ConnectionCountersBenchmark {
  @Param({"true", "false"})
  public boolean on;

  private ConnectionCounters counters;
  /** The by-type array the frame reader counts into (as it holds it); null with counting off. */
  private long[] framesIn;
  /** The response's stream as the writer sees it, reused (its figures are cleared at its end). */
  private OutboundStream stream;

  @Setup
  public void setUp() {
    counters = new ConnectionCounters(on);
    framesIn = on ? counters.live().framesIn : null;
    // Busy: past the syscalls after which the histograms exist.
    for (int i = 0; i < ConnectionCounters.SYSCALLS_BEFORE_HISTOGRAMS + 1; i++) {
      counters.readSyscall(100);
    }
    LoopyWriter writer = new LoopyWriter(new LoopyWriter.Output() {
      @Override
      public boolean write(java.nio.ByteBuffer buf) {
        throw new AssertionError("never written");
      }

      @Override
      public void setWriteInterest(boolean interested) {}

      @Override
      public void onHeadersFailed(int streamId, Exception cause) {}
    }, new dev.grpclean.transport.frame.HeaderBlockEncoder(), counters);
    stream = new OutboundStream(1, 1 << 20, new OutboundStream.Listener() {
      @Override
      public void onDataSent(int bytes) {}

      @Override
      public void onOutboundClosed() {}
    }, writer);
  }

  /**
   * A server's counter calls for one unary RPC: one readiness event with a read of the request
   * (HEADERS and DATA, counted by the frame reader) and the read that finds the socket drained,
   * the response's header block, DATA and trailers queued, leaving the writer's control queue
   * (its sampled wait) and flushed in one write; the stream's per-stream figures (its DATA
   * queued and drained, bytes each way) folded into the summaries at its end.
   */
  @Benchmark
  public ConnectionCounters unaryRpcServerSide() {
    ConnectionCounters c = connectionSide();
    // What OutboundStream, LoopyWriter and StreamRules do for the stream's summary.
    OutboundStream s = stream;
    s.queuedSinceNanos = c.streamNanos();
    s.bytesReceived += 105;
    s.bytesSent += 105;
    if (s.queuedSinceNanos != 0) {
      s.queuedNanos += c.streamNanos() - s.queuedSinceNanos;
      s.queuedSinceNanos = 0;
    }
    c.streamEnded(s);
    return c;
  }

  /**
   * The same RPC without the per-stream summary: the difference to {@link #unaryRpcServerSide}
   * in one run is what the per-stream summaries cost.
   */
  @Benchmark
  public ConnectionCounters unaryRpcServerSideWithoutStreamSummary() {
    return connectionSide();
  }

  private ConnectionCounters connectionSide() {
    ConnectionCounters c = counters;
    c.readable();
    c.readSyscall(150);
    if (framesIn != null) {
      framesIn[FrameType.HEADERS]++;
      framesIn[FrameType.DATA]++;
    }
    c.readConsumed();
    c.readableDone();
    c.queued(1);
    c.queued(2);
    c.dequeued();
    c.dequeued();
    c.flushed();
    c.headersOut();
    c.dataFrameOut(true);
    c.headersOut();
    c.wrote(180);
    return c;
  }
}
