package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The real {@link LoopyWriter} (this class sits in the transport's package, on the bench
 * module's class path, to reach it). One operation is what a loop batch does: queue
 * {@code controlFrames} control frames and {@code dataBytes} on each of {@code streams} streams
 * (in heap-pool chunks, as the framer delivers them), then one flush that drains them
 * round-robin, coalesced into the 64 KiB write lease, to an output that takes everything.
 *
 * <p>The aux counter {@code writes} is the number of output writes (socket syscalls) per
 * operation: read it in the "thrpt" mode as writes/s divided by ops/s, or directly from the
 * {@code writesPerFlush} result. Run with {@code scripts/jmh LoopyWriterBenchmark -prof gc}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class LoopyWriterBenchmark {
  @Param({"8"})
  public int controlFrames;

  @Param({"1", "16", "64"})
  public int streams;

  @Param({"100", "65536"})
  public int dataBytes;

  private LoopyWriter writer;
  private OutboundStream[] outbound;
  private byte[] payload;
  private final CountingOutput output = new CountingOutput();

  /** Output writes (socket syscalls) per flush, reported as an average per operation. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Counters {
    public long writes;
    public long flushes;

    public double writesPerFlush() {
      return flushes == 0 ? 0 : (double) writes / flushes;
    }
  }

  private static final class CountingOutput implements LoopyWriter.Output {
    long writes;
    long bytes;

    @Override
    public boolean write(ByteBuffer buf) {
      writes++;
      bytes += buf.remaining();
      buf.position(buf.limit());
      return true;
    }

    @Override
    public void setWriteInterest(boolean on) {}

    @Override
    public void onHeadersFailed(int streamId, Exception cause) {
      throw new AssertionError(cause);
    }
  }

  private static final OutboundStream.Listener IGNORE = new OutboundStream.Listener() {
    @Override
    public void onDataSent(int bytes) {}

    @Override
    public void onOutboundClosed() {}
  };

  @Setup(Level.Trial)
  public void setUp() {
    writer = new LoopyWriter(output, new HeaderBlockEncoder());
    payload = new byte[dataBytes];
    // Streams live for the whole trial (they never end), as long-lived streaming calls do.
    outbound = new OutboundStream[streams];
    for (int i = 0; i < streams; i++) {
      outbound[i] = new OutboundStream(2 * i + 1, Integer.MAX_VALUE, IGNORE, writer);
    }
  }

  @Benchmark
  public long queueAndFlush(Counters counters) throws Exception {
    for (int c = 0; c < controlFrames; c++) {
      if (!writer.enqueue(c % 2 == 0 ? new ControlFrame.WindowUpdate(0, 1)
          : new ControlFrame.RstStream(1_000_001 + 2 * c, ErrorCode.CANCEL))) {
        throw new IllegalStateException("control queue cap reached");
      }
    }
    for (OutboundStream s : outbound) {
      int left = dataBytes;
      while (left > 0) {
        int n = Math.min(left, LeanWritableBuffer.MAX_BUFFER_BYTES);
        ByteBuffer chunk = LeanBuffers.leaseHeap(n);
        chunk.put(payload, 0, n).flip();
        writer.enqueueData(s, chunk, false);
        left -= n;
      }
      // Keep the stream window open: what is sent this turn is granted again. The writer
      // refuses a grant past 2^31-1 (where the window starts), leaving the window at the cap.
      var unused = writer.updateStreamWindow(s, dataBytes);
    }
    // The peer's WINDOW_UPDATE for exactly what this batch sends.
    if (!writer.updateConnectionWindow(streams * dataBytes)) {
      throw new IllegalStateException("connection window overflow");
    }
    long writesBefore = output.writes;
    writer.flush();
    counters.writes += output.writes - writesBefore;
    counters.flushes++;
    return output.bytes;
  }
}
