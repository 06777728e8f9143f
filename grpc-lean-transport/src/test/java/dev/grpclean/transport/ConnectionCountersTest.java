package dev.grpclean.transport;

import static dev.grpclean.transport.WriterFixtures.IGNORING_LISTENER;
import static dev.grpclean.transport.WriterFixtures.chunk;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The writer-side counters against a recording fake socket: window stalls start and end where the
 * windows close and open, frames are counted by type and resets/GOAWAYs by code, the control
 * queue's depth is tracked. Pools are back at their baseline after each test.
 */
public class ConnectionCountersTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private final long heapBaseline = LeanBuffers.heap().leasedBytes();
  private final long outboundBaseline = LeanBuffers.outbound().leasedBytes();
  private final long ioBaseline = LeanBuffers.io().leasedBytes();
  private final RecordingOutput output = new RecordingOutput();
  private final ConnectionCounters counters = new ConnectionCounters(true);
  private final LoopyWriter writer =
      new LoopyWriter(output, new HeaderBlockEncoder(), counters);

  @After
  public void poolsBackToBaseline() {
    writer.close();
    assertEquals(heapBaseline, LeanBuffers.heap().leasedBytes());
    assertEquals(outboundBaseline, LeanBuffers.outbound().leasedBytes());
    assertEquals(ioBaseline, LeanBuffers.io().leasedBytes());
  }

  @Test
  public void streamWindowStallStartsWhenWindowClosesAndEndsWhenItOpens() throws Exception {
    OutboundStream s = new OutboundStream(1, 1000, IGNORING_LISTENER, writer);
    writer.enqueueData(s, chunk(3000), false);
    assertEquals("window still open before the drain", 0, counters.live().streamsBlockedOnWindow);
    writer.flush();
    assertEquals(1, counters.live().streamsBlockedOnWindow);
    assertEquals(1, counters.live().streamWindowBlockedEvents);
    assertEquals(2000, counters.live().streamWindowBlockedBytes);
    assertNotEquals(0, snapshot().get(Figure.STREAMS_BLOCKED_ON_WINDOW));

    assertTrue(writer.updateStreamWindow(s, 500));
    writer.flush();
    assertEquals("stalled again after 500 more bytes", 1, counters.live().streamsBlockedOnWindow);
    assertEquals(2, counters.live().streamWindowBlockedEvents);
    assertEquals(2000 + 1500, counters.live().streamWindowBlockedBytes);

    assertTrue(writer.updateStreamWindow(s, 10_000));
    assertEquals(0, counters.live().streamsBlockedOnWindow);
    long stalled = counters.live().streamWindowBlockedNanos;
    writer.flush();
    assertEquals("no stall once every byte has left", stalled, counters.live().streamWindowBlockedNanos);
    assertEquals(3, counters.live().dataTurns);
    assertEquals(3, counters.live().framesOut[FrameType.DATA]);
  }

  @Test
  public void cancelledStreamEndsItsStall() throws Exception {
    OutboundStream s = new OutboundStream(1, 0, IGNORING_LISTENER, writer);
    writer.enqueueData(s, chunk(100), false);
    assertEquals(1, counters.live().streamsBlockedOnWindow);
    writer.cancel(s);
    assertEquals(0, counters.live().streamsBlockedOnWindow);
    assertEquals(0, snapshot().get(Figure.STREAMS_BLOCKED_ON_WINDOW));
  }

  @Test
  public void connectionWindowStallIsOneSpellUntilTheWindowOpens() throws Exception {
    assertTrue(writer.updateConnectionWindow(-FrameType.DEFAULT_INITIAL_WINDOW));
    OutboundStream a = new OutboundStream(1, 1 << 20, IGNORING_LISTENER, writer);
    OutboundStream b = new OutboundStream(3, 1 << 20, IGNORING_LISTENER, writer);
    writer.enqueueData(a, chunk(100), false);
    writer.enqueueData(b, chunk(100), false);
    writer.flush();
    writer.flush();
    assertEquals("both streams wait in one spell", 1, counters.live().connectionWindowBlockedEvents);
    assertNotEquals(0, counters.live().connectionWindowBlockedSinceNanos);
    assertEquals(0, counters.live().streamsBlockedOnWindow);

    assertTrue(writer.updateConnectionWindow(1000));
    assertEquals(0, counters.live().connectionWindowBlockedSinceNanos);
    writer.flush();
    assertEquals(2, counters.live().framesOut[FrameType.DATA]);
    assertEquals(1, counters.live().connectionWindowBlockedEvents);
  }

  @Test
  public void controlFramesCountedByTypeAndCode() throws Exception {
    assertTrue(writer.enqueue(new ControlFrame.Ping(false, 7)));
    assertTrue(writer.enqueue(new ControlFrame.Ping(true, 8)));
    assertTrue(writer.enqueue(new ControlFrame.RstStream(5, ErrorCode.CANCEL)));
    assertTrue(writer.enqueue(new ControlFrame.RstStream(7, ErrorCode.CANCEL)));
    assertTrue(writer.enqueue(new ControlFrame.RstStream(9, ErrorCode.REFUSED_STREAM)));
    assertTrue(writer.enqueue(new ControlFrame.GoAway(9, ErrorCode.ENHANCE_YOUR_CALM,
        new byte[] {1, 2, 3})));
    assertTrue(writer.enqueue(new ControlFrame.WindowUpdate(0, 1000)));
    assertEquals(7, writer.controlQueueDepth());
    writer.flush();

    LeanConnectionStats s = snapshot();
    assertEquals(2, s.framesOut(FrameType.PING));
    assertEquals(3, s.framesOut(FrameType.RST_STREAM));
    assertEquals(1, s.framesOut(FrameType.GOAWAY));
    assertEquals(1, s.framesOut(FrameType.WINDOW_UPDATE));
    assertEquals(2, s.rstStreamOut(ErrorCode.CANCEL.code()));
    assertEquals(1, s.rstStreamOut(ErrorCode.REFUSED_STREAM.code()));
    assertEquals(1, s.goAwayOut(ErrorCode.ENHANCE_YOUR_CALM.code()));
    assertEquals(0, s.goAwayOut(ErrorCode.NO_ERROR.code()));
    assertEquals("only the PING that is not an ack", 1, s.get(Figure.PINGS_SENT));
    assertEquals(7, s.get(Figure.MAX_QUEUE_DEPTH));
    assertEquals(0, s.get(Figure.QUEUE_DEPTH));
    assertEquals(1, s.get(Figure.FLUSHES));

    counters.pingAckReceived();
    assertEquals(1, counters.live().pingAcksReceived);
    assertEquals(counters.live().pingRttNanosLast, counters.live().pingRttNanosTotal);
    counters.pingAckReceived();
    assertEquals("an ack with no PING outstanding times nothing",
        counters.live().pingRttNanosLast, counters.live().pingRttNanosTotal);
  }

  @Test
  public void unknownErrorCodesShareTheLastSlot() {
    counters.rstStreamReceived(0xdead_beefL);
    counters.rstStreamReceived(ErrorCode.HTTP_1_1_REQUIRED.code() + 1);
    counters.goAwayReceived(ErrorCode.NO_ERROR.code());
    LeanConnectionStats s = snapshot();
    assertEquals(2, s.rstStreamIn(0xdead_beefL));
    assertEquals(0, s.rstStreamIn(ErrorCode.HTTP_1_1_REQUIRED.code()));
    assertEquals(1, s.goAwayIn(ErrorCode.NO_ERROR.code()));
  }

  @Test
  public void minusSubtractsCountersAndKeepsGauges() {
    LeanConnectionStats a = LeanConnectionStats.builder(100)
        .add(Figure.BYTES_READ, 10).add(Figure.QUEUE_DEPTH, 4).build();
    LeanConnectionStats b = LeanConnectionStats.builder(300)
        .add(Figure.BYTES_READ, 25).add(Figure.QUEUE_DEPTH, 2).build();
    LeanConnectionStats d = b.minus(a);
    assertEquals(15, d.get(Figure.BYTES_READ));
    assertEquals(2, d.get(Figure.QUEUE_DEPTH));
    assertEquals(300, d.takenAtNanos());
  }

  @Test
  public void countersOffCountNothing() throws Exception {
    ConnectionCounters off = new ConnectionCounters(false);
    LoopyWriter w = new LoopyWriter(output, new HeaderBlockEncoder(), off);
    try {
      OutboundStream s = new OutboundStream(1, 100, IGNORING_LISTENER, w);
      w.enqueueData(s, chunk(300), false);
      assertTrue(w.enqueue(new ControlFrame.Ping(false, 1)));
      assertTrue(w.enqueue(new ControlFrame.RstStream(3, ErrorCode.CANCEL)));
      w.flush();
      assertTrue(w.updateConnectionWindow(-FrameType.DEFAULT_INITIAL_WINDOW));
      assertTrue(w.updateStreamWindow(s, 1000));
      w.flush();
      w.cancel(s);
      off.readable();
      for (int i = 0; i < 100; i++) {
        off.readSyscall(1000);
        off.readConsumed();
        off.wrote(500);
      }
      off.readableDone();
      off.writeInterest(true);
      off.pingAckReceived();
      off.rstStreamReceived(1);
      off.peerFilledStreamWindow();
      LeanConnectionStats.Builder b = LeanConnectionStats.builder(System.nanoTime());
      off.addTo(b, System.nanoTime(), 0, true);
      LeanConnectionStats stats = b.build();
      for (Figure f : Figure.values()) {
        assertEquals(f.name(), 0, stats.get(f));
      }
      for (int type = 0; type < LeanConnectionStats.FRAME_TYPES; type++) {
        assertEquals(0, stats.framesOut(type));
      }
      assertEquals(0, stats.rstStreamIn(1));
      assertEquals(0, stats.rstStreamOut(ErrorCode.CANCEL.code()));
      assertTrue("the writer still wrote the frames", output.size() > 100);
    } finally {
      w.close();
    }
  }

  @Test
  public void histogramsStartOnceTheConnectionIsBusy() {
    counters.readable();
    for (int i = 0; i < ConnectionCounters.SYSCALLS_BEFORE_HISTOGRAMS; i++) {
      counters.readSyscall(100);
      counters.readConsumed();
    }
    counters.readableDone();
    assertEquals("a connection that only handshook carries no histograms", 0,
        snapshot().histogramCount(LeanConnectionStats.Histogram.BYTES_PER_READ));

    counters.readable();
    for (int i = 0; i < 10; i++) {
      counters.readSyscall(16_384);
      counters.live().framesIn[FrameType.DATA] += 3;
      counters.readConsumed();
    }
    counters.readSyscall(0);
    counters.readableDone();
    counters.wrote(700);
    counters.wrote(0);
    LeanConnectionStats s = snapshot();
    assertEquals(10, s.histogramCount(LeanConnectionStats.Histogram.BYTES_PER_READ));
    assertEquals(10, s.histogramBucket(LeanConnectionStats.Histogram.BYTES_PER_READ,
        LeanConnectionStats.bucketOf(16_384)));
    assertEquals(10, s.histogramBucket(LeanConnectionStats.Histogram.FRAMES_PER_READ,
        LeanConnectionStats.bucketOf(3)));
    assertEquals(1, s.histogramCount(LeanConnectionStats.Histogram.READABLE_TO_DELIVERED_NANOS));
    assertEquals("refused writes are short writes, not sizes", 1,
        s.histogramCount(LeanConnectionStats.Histogram.BYTES_PER_WRITE));
    assertEquals(1, s.get(Figure.SHORT_WRITES));
    assertEquals(32 * 100 + 10 * 16_384, s.get(Figure.BYTES_READ));
  }

  private LeanConnectionStats snapshot() {
    return WriterFixtures.snapshot(counters, writer, System.nanoTime());
  }
}
