package dev.grpclean.bench.jmh;

import dev.grpclean.transport.frame.FrameListener;
import dev.grpclean.transport.frame.FrameReader;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.FrameWriter;
import dev.grpclean.transport.frame.HeaderBlockDecoder;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;
import dev.grpclean.transport.frame.Settings;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The server's inbound HTTP/2 parse: {@link FrameReader} over one direct buffer holding
 * {@value #STREAMS} gRPC requests, each a HEADERS frame (a typical unary request's headers,
 * HPACK-encoded by {@link HeaderBlockEncoder} in wire order, so all but the first block are
 * dynamic-table hits) and one DATA frame of {@code dataBytes} with END_STREAM. Results are per
 * frame ({@value #FRAMES} per invocation):
 * <ul>
 *   <li>{@code parse}: framing only; the listener touches the borrowed slices;
 *   <li>{@code parseAndDecode}: plus {@link HeaderBlockDecoder#decode} for every HEADERS frame.
 *       Per HEADERS frame, HPACK costs 2 x (parseAndDecode - parse).
 * </ul>
 * Replaying the buffer keeps the decoder's dynamic table in the same state: the first block
 * re-inserts the same entries, in the same order, that the others reference.
 *
 * <p>{@code scripts/jmh FrameParseBenchmark -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FrameParseBenchmark {
  static final int STREAMS = 64;
  static final int FRAMES = 2 * STREAMS;

  /** DATA payload: a 5-byte gRPC prefix plus the message. */
  @Param({"100", "16384"})
  public int dataBytes;

  private ByteBuffer wire;
  private FrameReader reader;
  private HeaderBlockDecoder decoder;
  private boolean decode;
  private Blackhole bh;

  private final FrameListener listener = new FrameListener() {
    @Override
    public void onData(int streamId, ByteBuffer data, int flowControlledBytes, boolean endStream) {
      bh.consume(data.remaining());
    }

    @Override
    public void onHeaders(int streamId, ByteBuffer headerBlock, boolean endStream)
        throws Http2ConnectionError, Http2StreamError {
      if (decode) {
        bh.consume(decoder.decode(streamId, headerBlock));
      } else {
        bh.consume(headerBlock.remaining());
      }
    }

    @Override
    public void onPriority(int streamId, int dependencyStreamId, int weight, boolean exclusive) {}

    @Override
    public void onRstStream(int streamId, long errorCode) {}

    @Override
    public void onSettings(Settings settings) {}

    @Override
    public void onSettingsAck() {}

    @Override
    public void onPing(long payload, boolean ack) {}

    @Override
    public void onGoAway(int lastStreamId, long errorCode, ByteBuffer debugData) {}

    @Override
    public void onWindowUpdate(int streamId, int increment) {}

    @Override
    public void onStreamError(Http2StreamError error) {
      throw new IllegalStateException(error);
    }
  };

  static Http2Headers requestHeaders() {
    return new DefaultHttp2Headers()
        .method("POST")
        .scheme("http")
        .path("/grpc.testing.BenchmarkService/UnaryCall")
        .authority("localhost:50051")
        .add("content-type", "application/grpc")
        .add("te", "trailers")
        .add("grpc-accept-encoding", "gzip")
        .add("user-agent", "grpc-java-lean/0.1.0")
        .add("grpc-timeout", "9999m");
  }

  @Setup(Level.Trial)
  public void setUp(Blackhole blackhole) throws Exception {
    bh = blackhole;
    HeaderBlockEncoder encoder = new HeaderBlockEncoder();
    ByteBuf block = Unpooled.buffer(256);
    wire = ByteBuffer.allocateDirect(STREAMS * (64 + 256 + dataBytes));
    byte[] payload = new byte[dataBytes];
    for (int i = 0; i < STREAMS; i++) {
      int streamId = 2 * i + 1;
      block.clear();
      encoder.encode(streamId, requestHeaders(), block);
      FrameWriter.writeHeaders(wire, streamId, block.nioBuffer(), false,
          FrameType.DEFAULT_MAX_FRAME_SIZE);
      FrameWriter.writeDataHeader(wire, streamId, dataBytes, true);
      wire.put(payload);
    }
    wire.flip();
    reader = new FrameReader(listener, false, FrameType.DEFAULT_MAX_FRAME_SIZE, 16 << 10);
    decoder = new HeaderBlockDecoder(8192, 4096);
    ByteBuffer settings = ByteBuffer.allocate(FrameType.FRAME_HEADER_BYTES);
    FrameWriter.writeFrameHeader(settings, 0, FrameType.SETTINGS, (byte) 0, 0);
    reader.read(settings.flip()); // the peer's first frame must be SETTINGS
    decode = true;
    reader.read(wire.duplicate()); // fills the dynamic table once
    if (reader.pendingBytes() != 0) {
      throw new IllegalStateException("buffer does not end on a frame boundary");
    }
  }

  @Benchmark
  @OperationsPerInvocation(FRAMES)
  public void parse() throws Http2ConnectionError {
    decode = false;
    wire.position(0);
    reader.read(wire);
  }

  @Benchmark
  @OperationsPerInvocation(FRAMES)
  public void parseAndDecode() throws Http2ConnectionError {
    decode = true;
    wire.position(0);
    reader.read(wire);
  }
}
