package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.fail;

import dev.grpclean.transport.frame.HeaderBlockDecoder;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import dev.grpclean.transport.frame.Settings;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.rules.Timeout;

/**
 * What the {@link LoopyWriter} tests share: a writer over a recording fake socket
 * ({@link RecordingOutput}), DATA with a per-stream byte pattern and its checks, and the pool
 * baselines every test returns to ({@link LoopyWriterTest}: what goes on the wire;
 * {@link LoopyWriterLifecycleTest}: cancel, partial writes, close, caps and leases).
 *
 * <p>Thread-compatible: each test runs on one thread, with a fresh instance.
 */
public abstract class LoopyWriterTestBase {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  /** Effectively unlimited, so only the window under test limits sending. */
  static final int BIG_WINDOW = Integer.MAX_VALUE / 2;

  final RecordingOutput output = new RecordingOutput();
  final HeaderBlockDecoder decoder = new HeaderBlockDecoder(Long.MAX_VALUE, 4096);
  LoopyWriter writer;
  long ioBaseline;
  long ioLeasesBaseline;
  long heapBaseline;
  long heapLeasesBaseline;
  long outboundBaseline;
  long outboundLeasesBaseline;

  @Before
  public void setUp() {
    ioBaseline = LeanBuffers.io().leasedBytes();
    ioLeasesBaseline = LeanBuffers.io().leasesOutstanding();
    heapBaseline = LeanBuffers.heap().leasedBytes();
    heapLeasesBaseline = LeanBuffers.heap().leasesOutstanding();
    outboundBaseline = LeanBuffers.outbound().leasedBytes();
    outboundLeasesBaseline = LeanBuffers.outbound().leasesOutstanding();
    writer = new LoopyWriter(output, new HeaderBlockEncoder());
  }

  @After
  public void poolsBackToBaseline() {
    assertPoolsAtBaseline();
  }

  static ByteBuffer chunkOf(int bytes) {
    ByteBuffer chunk = LeanBuffers.leaseHeap(bytes);
    chunk.position(bytes).flip();
    return chunk;
  }



  // ------------------------------------------------------------------ helpers

  /** Headers, DATA on three streams (one ending with trailers), a little control traffic. */
  static void queueScenario(LoopyWriter w) {
    w.enqueue(new ControlFrame.SendSettings(new Settings().set(Settings.INITIAL_WINDOW_SIZE, 1 << 20)));
    for (int id = 1; id <= 5; id += 2) {
      w.enqueueHeaders(id, responseHeaders(), false);
    }
    OutboundStream s1 = new OutboundStream(1, BIG_WINDOW, new StreamRecorder(), w);
    OutboundStream s3 = new OutboundStream(3, BIG_WINDOW, new StreamRecorder(), w);
    OutboundStream s5 = new OutboundStream(5, BIG_WINDOW, new StreamRecorder(), w);
    queueData(w, s1, 0, 70_000, true);
    queueData(w, s3, 0, 30_000, false);
    queueData(w, s3, 30_000, 30_000, false);
    w.enqueueTrailers(s3, trailers());
    queueData(w, s5, 0, 5, true);
  }

  void assertScenarioDelivered(List<WireFrame> frames) throws Exception {
    assertPattern(dataOf(frames, 1), 1, 70_000);
    assertPattern(dataOf(frames, 3), 3, 60_000);
    assertPattern(dataOf(frames, 5), 5, 5);
    int streamEnds = 0;
    for (WireFrame f : frames) {
      if (f.isHeaders()) {
        decoder.decode(f.streamId, ByteBuffer.wrap(f.payload));
      }
      if ((f.isData() || f.isHeaders()) && f.endStream()) {
        streamEnds++;
      }
    }
    assertEquals(3, streamEnds);
  }

  void assertPoolsAtBaseline() {
    assertEquals("io leased bytes", ioBaseline, LeanBuffers.io().leasedBytes());
    assertEquals("io leases", ioLeasesBaseline, LeanBuffers.io().leasesOutstanding());
    assertEquals("heap leased bytes", heapBaseline, LeanBuffers.heap().leasedBytes());
    assertEquals("heap leases", heapLeasesBaseline, LeanBuffers.heap().leasesOutstanding());
    assertEquals("outbound leased bytes", outboundBaseline, LeanBuffers.outbound().leasedBytes());
    assertEquals("outbound leases", outboundLeasesBaseline,
        LeanBuffers.outbound().leasesOutstanding());
  }

  OutboundStream stream(int id, int windowBytes) {
    return new OutboundStream(id, windowBytes, new StreamRecorder(), writer);
  }

  void queueData(OutboundStream s, int offset, int length, boolean endStream) {
    queueData(writer, s, offset, length, endStream);
  }

  /** Queues {@code length} bytes of stream {@code s}'s pattern, as a flipped heap lease. */
  static void queueData(
      LoopyWriter w, OutboundStream s, int offset, int length, boolean endStream) {
    ByteBuffer chunk = LeanBuffers.leaseHeap(length);
    for (int i = 0; i < length; i++) {
      chunk.put(patternByte(s.id, offset + i));
    }
    chunk.flip();
    w.enqueueData(s, chunk, endStream);
  }

  static byte patternByte(int streamId, int offset) {
    return (byte) (streamId * 31 + offset * 7 + (offset >>> 8));
  }

  static void assertPattern(byte[] data, int streamId, int length) {
    assertEquals("payload bytes of stream " + streamId, length, data.length);
    for (int i = 0; i < length; i++) {
      if (data[i] != patternByte(streamId, i)) {
        fail("stream " + streamId + " payload differs at offset " + i);
      }
    }
  }

  static byte[] dataOf(List<WireFrame> frames, int streamId) {
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    for (WireFrame f : frames) {
      if (f.isData() && f.streamId == streamId) {
        data.write(f.payload, 0, f.payload.length);
      }
    }
    return data.toByteArray();
  }

  static int dataBytes(List<WireFrame> frames) {
    int n = 0;
    for (WireFrame f : frames) {
      if (f.isData()) {
        n += f.payload.length;
      }
    }
    return n;
  }

  static int countHeaders(List<WireFrame> frames) {
    return (int) frames.stream().filter(WireFrame::isHeaders).count();
  }

  static Http2Headers responseHeaders() {
    return new DefaultHttp2Headers().status("200").add("content-type", "application/grpc");
  }

  static Http2Headers trailers() {
    return new DefaultHttp2Headers().add("grpc-status", "0");
  }

  /** Records what the writer reports for one stream. */
  static final class StreamRecorder implements OutboundStream.Listener {
    int sentBytes;
    boolean closed;

    @Override
    public void onDataSent(int bytes) {
      sentBytes += bytes;
    }

    @Override
    public void onOutboundClosed() {
      assertFalse("closed twice", closed);
      closed = true;
    }
  }
}
