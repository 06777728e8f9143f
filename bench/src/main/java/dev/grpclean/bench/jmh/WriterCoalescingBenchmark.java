package dev.grpclean.bench.jmh;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.FrameWriter;
import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
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
 * One writer flush: {@code controlFrames} small control frames (WINDOW_UPDATE, PING ACK,
 * SETTINGS ACK, RST_STREAM in turn) then DATA round-robin over {@code streams} streams, each with
 * {@code dataBytes} queued, at most one 16 KiB frame per stream per turn, coalesced into the
 * writer's 64 KiB I/O lease and handed to a counting output (which takes everything) each time it
 * fills and once at the end.
 *
 * <p><b>Not the real writer:</b> {@code LoopyWriter} is package-private in {@code
 * dev.grpclean.transport} and this module adds no hook to it, so this replays its drain order
 * and split rule ({@code emit}: split a DATA frame only if at least min(n, 1 KiB) fits) with the
 * public {@link FrameWriter}. It has no flow control, HPACK or stream bookkeeping; it measures
 * framing + copying + the coalescing policy.
 *
 * <p>Per operation = per flush. Aux counters (in avgt mode, time per counted event):
 * {@code frames} gives ns per frame, {@code writes} ns per output write; writes per flush =
 * score / writes.
 *
 * <p>{@code scripts/jmh WriterCoalescingBenchmark -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class WriterCoalescingBenchmark {
  static final int WRITE_BUFFER_BYTES = RecordPipe.WRITE_BUFFER_BYTES;
  static final int MAX_FRAME = FrameType.DEFAULT_MAX_FRAME_SIZE;

  @Param({"8"})
  public int controlFrames;

  @Param({"1", "16", "64"})
  public int streams;

  @Param({"100", "65536"})
  public int dataBytes;

  private final BufferPool io = Pools.io();
  /** Each stream's queued message: a heap buffer, as the heap-pool chunks the writer copies. */
  private ByteBuffer[] queued;
  private int[] queuedBytes;

  /** Counts what the writer hands to the socket. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Counters {
    public long writes;
    public long frames;
  }

  @Setup(Level.Trial)
  public void setUp() {
    queued = new ByteBuffer[streams];
    queuedBytes = new int[streams];
    for (int i = 0; i < streams; i++) {
      queued[i] = ByteBuffer.allocate(dataBytes);
    }
  }

  @Benchmark
  public int flush(Counters c) {
    for (int i = 0; i < streams; i++) {
      queued[i].clear();
      queuedBytes[i] = dataBytes;
    }
    ByteBuffer out = io.lease(WRITE_BUFFER_BYTES);
    try {
      for (int i = 0; i < controlFrames; i++) {
        if (out.remaining() < FrameType.FRAME_HEADER_BYTES + 8) {
          write(out, c);
        }
        switch (i & 3) {
          case 0:
            FrameWriter.writeWindowUpdate(out, 0, 65535);
            break;
          case 1:
            FrameWriter.writePing(out, true, i);
            break;
          case 2:
            FrameWriter.writeSettingsAck(out);
            break;
          default:
            FrameWriter.writeRstStream(out, 2 * i + 1, ErrorCode.CANCEL);
            break;
        }
        c.frames++;
      }
      int remainingStreams = streams;
      while (remainingStreams > 0) {
        for (int s = 0; s < streams; s++) {
          int left = queuedBytes[s];
          if (left == 0) {
            continue;
          }
          int n = Math.min(left, MAX_FRAME);
          int room = out.remaining() - FrameType.FRAME_HEADER_BYTES;
          if (room < n) {
            if (room < Math.min(n, 1024)) {
              write(out, c);
              room = out.remaining() - FrameType.FRAME_HEADER_BYTES;
            }
            n = Math.min(n, room);
          }
          boolean endStream = n == left;
          FrameWriter.writeDataHeader(out, 2 * s + 1, n, endStream);
          ByteBuffer src = queued[s];
          int limit = src.limit();
          src.limit(src.position() + n);
          out.put(src);
          src.limit(limit);
          queuedBytes[s] = left - n;
          c.frames++;
          if (endStream) {
            remainingStreams--;
          }
        }
      }
      if (out.position() > 0) {
        write(out, c);
      }
    } finally {
      io.release(out);
    }
    return remainingStreamsChecksum();
  }

  private int remainingStreamsChecksum() {
    return queuedBytes.length == 0 ? 0 : queuedBytes[0];
  }

  /** The counting output: takes all of {@code out}; then the buffer is refilled. */
  private static void write(ByteBuffer out, Counters c) {
    out.flip();
    c.writes++;
    out.position(out.limit());
    out.clear();
  }
}
