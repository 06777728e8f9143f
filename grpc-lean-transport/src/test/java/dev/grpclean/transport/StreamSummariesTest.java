package dev.grpclean.transport;

import static dev.grpclean.transport.WriterFixtures.IGNORING_LISTENER;
import static dev.grpclean.transport.WriterFixtures.chunk;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.LeanConnectionStats.Histogram;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Per-stream summaries ({@link StreamSummaries}) through the writer, with a fake clock that moves
 * only where the test says: a stream held by a zero window for a known number of frames, a stream
 * that never waits, a stream reset while blocked; folded at the stream's end, nothing kept per
 * stream, nothing when counting is off or before the connection is busy.
 */
public class StreamSummariesTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);
  private static final long MS = 1_000_000L;

  private final long heapBaseline = LeanBuffers.heap().leasedBytes();
  private final long outboundBaseline = LeanBuffers.outbound().leasedBytes();
  private final long ioBaseline = LeanBuffers.io().leasedBytes();
  private final RecordingOutput output = new RecordingOutput();
  private final ConnectionCounters counters = new ConnectionCounters(true);
  private final LoopyWriter writer = new LoopyWriter(output, new HeaderBlockEncoder(), counters);
  /** The fake clock; starts far from 0, which the intervals use as "not open". */
  private long now = 1_000 * MS;

  @After
  public void poolsBackToBaseline() {
    writer.close();
    assertEquals(heapBaseline, LeanBuffers.heap().leasedBytes());
    assertEquals(outboundBaseline, LeanBuffers.outbound().leasedBytes());
    assertEquals(ioBaseline, LeanBuffers.io().leasedBytes());
  }

  @Test
  public void streamHeldByAZeroWindowForThreeFrames() throws Exception {
    counters.startStreamSummaries(() -> now);
    OutboundStream s = new OutboundStream(1, 0, IGNORING_LISTENER, writer);
    writer.enqueueData(s, chunk(3000), false);
    writer.flush();
    assertEquals(0, output.takeFrames().size());
    for (int frame = 0; frame < 3; frame++) {
      now += 10 * MS; // blocked on the zero window meanwhile
      assertTrue(writer.updateStreamWindow(s, 1000));
      writer.flush();
      assertEquals(1, output.takeFrames().size());
    }
    s.bytesReceived = 70_000; // what StreamRules.onData counts on the read side
    now += 5 * MS; // not queued any more: counts for nothing
    counters.streamEnded(s);

    LeanConnectionStats st = snapshot();
    assertEquals(1, st.get(Figure.ENDED_STREAMS));
    assertEquals(1, st.get(Figure.ENDED_STREAMS_BLOCKED_ON_WINDOW));
    assertEquals(30 * MS, st.get(Figure.ENDED_STREAM_WINDOW_BLOCKED_NANOS));
    assertEquals(30 * MS, st.get(Figure.ENDED_STREAM_WINDOW_BLOCKED_NANOS_MAX));
    assertEquals(30 * MS, st.get(Figure.ENDED_STREAM_QUEUED_NANOS_MAX));
    assertEquals(3000, st.get(Figure.ENDED_STREAM_BYTES_SENT_MAX));
    assertEquals(70_000, st.get(Figure.ENDED_STREAM_BYTES_RECEIVED_MAX));
    assertOne(st, Histogram.STREAM_WINDOW_BLOCKED_NANOS, 30 * MS);
    assertOne(st, Histogram.STREAM_QUEUED_NANOS, 30 * MS);
    assertOne(st, Histogram.STREAM_BYTES_SENT, 3000);
    assertOne(st, Histogram.STREAM_BYTES_RECEIVED, 70_000);
    // Nothing kept on the stream: its figures were folded and cleared.
    assertEquals(0, s.windowBlockedNanos + s.queuedNanos + s.bytesSent + s.bytesReceived);
  }

  @Test
  public void worstStreamAndHistogramsOverSeveralStreams() throws Exception {
    counters.startStreamSummaries(() -> now);
    OutboundStream quick = new OutboundStream(1, 1 << 20, IGNORING_LISTENER, writer);
    writer.enqueueData(quick, chunk(100), true);
    now += 2 * MS; // queued, waiting for the drain, never for a window
    writer.flush();
    counters.streamEnded(quick);

    OutboundStream held = new OutboundStream(3, 0, IGNORING_LISTENER, writer);
    writer.enqueueData(held, chunk(500), false);
    now += 7 * MS;
    writer.cancel(held); // reset while blocked: both intervals end here
    now += 100 * MS;
    counters.streamEnded(held);

    LeanConnectionStats st = snapshot();
    assertEquals(2, st.get(Figure.ENDED_STREAMS));
    assertEquals(1, st.get(Figure.ENDED_STREAMS_BLOCKED_ON_WINDOW));
    assertEquals(7 * MS, st.get(Figure.ENDED_STREAM_WINDOW_BLOCKED_NANOS));
    assertEquals(7 * MS, st.get(Figure.ENDED_STREAM_QUEUED_NANOS_MAX));
    assertEquals(100, st.get(Figure.ENDED_STREAM_BYTES_SENT_MAX));
    assertEquals(1, st.histogramBucket(Histogram.STREAM_WINDOW_BLOCKED_NANOS, 0));
    assertEquals(1, st.histogramBucket(Histogram.STREAM_WINDOW_BLOCKED_NANOS,
        LeanConnectionStats.bucketOf(7 * MS)));
    assertEquals(1, st.histogramBucket(Histogram.STREAM_QUEUED_NANOS,
        LeanConnectionStats.bucketOf(2 * MS)));
    assertEquals(1, st.histogramBucket(Histogram.STREAM_BYTES_SENT, 0)); // the reset one
    assertEquals(2, st.histogramCount(Histogram.STREAM_BYTES_RECEIVED));
  }

  @Test
  public void closedConnectionFoldsAStreamStillBlocked() throws Exception {
    counters.startStreamSummaries(() -> now);
    OutboundStream s = new OutboundStream(1, 0, IGNORING_LISTENER, writer);
    writer.enqueueData(s, chunk(200), false);
    now += 4 * MS;
    s.discard(); // what Http2Connection's close does, then streamEnded
    counters.streamEnded(s);
    LeanConnectionStats st = snapshot();
    assertEquals(4 * MS, st.get(Figure.ENDED_STREAM_WINDOW_BLOCKED_NANOS_MAX));
    assertEquals(4 * MS, st.get(Figure.ENDED_STREAM_QUEUED_NANOS_MAX));
  }

  @Test
  public void summariesStartOnceTheConnectionIsBusy() throws Exception {
    OutboundStream early = new OutboundStream(1, 1 << 20, IGNORING_LISTENER, writer);
    writer.enqueueData(early, chunk(10), true);
    writer.flush();
    counters.streamEnded(early);
    assertEquals(0, snapshot().get(Figure.ENDED_STREAMS));
    assertEquals(0, counters.streamNanos());
    for (long i = 0; i < ConnectionCounters.SYSCALLS_BEFORE_HISTOGRAMS; i++) {
      counters.readSyscall(1);
    }
    assertTrue(counters.streamNanos() != 0);
    OutboundStream later = new OutboundStream(3, 1 << 20, IGNORING_LISTENER, writer);
    writer.enqueueData(later, chunk(10), true);
    writer.flush();
    counters.streamEnded(later);
    assertEquals(1, snapshot().get(Figure.ENDED_STREAMS));
    assertEquals(10, snapshot().get(Figure.ENDED_STREAM_BYTES_SENT_MAX));
  }

  @Test
  public void nothingWhenCountingIsOff() throws Exception {
    ConnectionCounters off = new ConnectionCounters(false);
    LoopyWriter w = new LoopyWriter(output, new HeaderBlockEncoder(), off);
    off.startStreamSummaries(() -> now);
    assertEquals(0, off.streamNanos());
    OutboundStream s = new OutboundStream(1, 0, IGNORING_LISTENER, w);
    w.enqueueData(s, chunk(100), false);
    now += MS;
    assertTrue(w.updateStreamWindow(s, 100));
    w.flush();
    off.streamEnded(s);
    assertEquals(0, s.windowBlockedSinceNanos + s.queuedSinceNanos + s.windowBlockedNanos
        + s.queuedNanos);
    LeanConnectionStats.Builder b = LeanConnectionStats.builder(now);
    off.addTo(b, now, 0, true);
    assertEquals(0, b.build().get(Figure.ENDED_STREAMS));
    w.close();
  }

  @Test
  public void snapshotsSubtractCountsAndKeepMaxima() {
    LeanConnectionStats a = LeanConnectionStats.builder(1).add(Figure.ENDED_STREAMS, 3)
        .max(Figure.ENDED_STREAM_BYTES_SENT_MAX, 500).build();
    LeanConnectionStats b = LeanConnectionStats.builder(2).add(Figure.ENDED_STREAMS, 5)
        .max(Figure.ENDED_STREAM_BYTES_SENT_MAX, 900).build();
    LeanConnectionStats d = b.minus(a);
    assertEquals(2, d.get(Figure.ENDED_STREAMS));
    assertEquals(900, d.get(Figure.ENDED_STREAM_BYTES_SENT_MAX));
  }

  private static void assertOne(LeanConnectionStats st, Histogram h, long value) {
    assertEquals(h.name(), 1, st.histogramCount(h));
    assertEquals(h.name(), 1, st.histogramBucket(h, LeanConnectionStats.bucketOf(value)));
  }

  private LeanConnectionStats snapshot() {
    return WriterFixtures.snapshot(counters, writer, now);
  }
}
