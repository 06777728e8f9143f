package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.HeaderBlockDecoder;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import dev.grpclean.transport.frame.Settings;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * {@link LoopyWriter} against a recording fake socket: frame order, coalescing, round-robin
 * fairness, flow-control windows, stream ends, partial writes and lease accounting. Every test
 * also checks that both pools are back at their baseline afterwards.
 */
public class LoopyWriterTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  /** Effectively unlimited, so only the window under test limits sending. */
  private static final int BIG_WINDOW = Integer.MAX_VALUE / 2;

  private final RecordingOutput output = new RecordingOutput();
  private final HeaderBlockDecoder decoder = new HeaderBlockDecoder(Long.MAX_VALUE, 4096);
  private LoopyWriter writer;
  private long ioBaseline;
  private long ioLeasesBaseline;
  private long heapBaseline;
  private long heapLeasesBaseline;

  @Before
  public void setUp() {
    ioBaseline = LeanBuffers.io().leasedBytes();
    ioLeasesBaseline = LeanBuffers.io().leasesOutstanding();
    heapBaseline = LeanBuffers.heap().leasedBytes();
    heapLeasesBaseline = LeanBuffers.heap().leasesOutstanding();
    writer = new LoopyWriter(output, new HeaderBlockEncoder());
  }

  @After
  public void poolsBackToBaseline() {
    assertPoolsAtBaseline();
  }

  @Test
  public void controlFramesPrecedeDataAndKeepFifoOrder() throws Exception {
    OutboundStream s = stream(1, BIG_WINDOW);
    queueData(s, 0, 100, false); // queued before any control frame, still leaves after them
    writer.enqueue(new ControlFrame.SendSettings(new Settings().set(Settings.MAX_FRAME_SIZE, 20000)));
    writer.enqueue(new ControlFrame.Ping(false, 0x1122334455667788L));
    writer.enqueue(new ControlFrame.WindowUpdate(0, 1000));
    writer.enqueue(new ControlFrame.RstStream(5, ErrorCode.CANCEL));
    writer.enqueue(ControlFrame.SettingsAck.INSTANCE);
    writer.enqueue(new ControlFrame.GoAway(7, ErrorCode.NO_ERROR, "bye".getBytes(StandardCharsets.UTF_8)));
    writer.flush();

    List<WireFrame> frames = output.takeFrames();
    assertEquals(frames.toString(), 7, frames.size());
    assertEquals(FrameType.SETTINGS, frames.get(0).type);
    assertFalse(frames.get(0).endStream()); // not an ACK
    assertEquals(FrameType.PING, frames.get(1).type);
    assertEquals(0x1122334455667788L, frames.get(1).payloadLong());
    assertEquals(FrameType.WINDOW_UPDATE, frames.get(2).type);
    assertEquals(1000, frames.get(2).payloadInt(0));
    assertEquals(FrameType.RST_STREAM, frames.get(3).type);
    assertEquals(5, frames.get(3).streamId);
    assertEquals(FrameType.SETTINGS, frames.get(4).type);
    assertTrue("SETTINGS ACK", frames.get(4).endStream());
    assertEquals(FrameType.GOAWAY, frames.get(5).type);
    assertEquals(7, frames.get(5).payloadInt(0));
    assertTrue(frames.get(6).isData());
    assertEquals(1, frames.get(6).streamId);
    assertEquals(100, frames.get(6).payload.length);
    assertTrue(writer.isIdle());
  }

  @Test
  public void headersPrecedeTheirStreamsData() throws Exception {
    OutboundStream s1 = stream(1, BIG_WINDOW);
    OutboundStream s3 = stream(3, BIG_WINDOW);
    // Data first, headers after: the writer must still put each HEADERS before its DATA.
    queueData(s1, 0, 500, true);
    queueData(s3, 0, 500, true);
    writer.enqueueHeaders(1, responseHeaders(), false);
    writer.enqueueHeaders(3, responseHeaders(), false);
    writer.flush();

    List<WireFrame> frames = output.takeFrames();
    Map<Integer, Boolean> headersSeen = new HashMap<>();
    for (WireFrame f : frames) {
      if (f.isHeaders()) {
        assertTrue(f.endHeaders());
        assertFalse(f.endStream());
        Http2Headers h = decoder.decode(f.streamId, ByteBuffer.wrap(f.payload));
        assertEquals("200", h.status().toString());
        headersSeen.put(f.streamId, true);
      } else if (f.isData()) {
        assertTrue("DATA before HEADERS on stream " + f.streamId + ": " + frames,
            headersSeen.containsKey(f.streamId));
      }
    }
    assertEquals(2, headersSeen.size());
    assertPattern(dataOf(frames, 1), 1, 500);
    assertPattern(dataOf(frames, 3), 3, 500);
  }

  @Test
  public void smallFramesQueuedInOneBatchLeaveInOneWrite() throws Exception {
    writer.enqueue(new ControlFrame.SendSettings(new Settings().set(Settings.ENABLE_PUSH, 0)));
    for (int i = 0; i < 50; i++) {
      writer.enqueue(new ControlFrame.Ping(false, i));
    }
    for (int id = 1; id <= 19; id += 2) {
      writer.enqueueHeaders(id, responseHeaders(), false);
      queueData(stream(id, BIG_WINDOW), 0, 200, true);
    }
    writer.flush();

    assertEquals("one write for the whole batch", 1, output.writeCalls);
    List<WireFrame> frames = output.takeFrames();
    assertEquals(1 + 50 + 10 + 10, frames.size());
    assertEquals("HEADERS and DATA frames reported", 20, output.streamFramesWritten);
    assertTrue(writer.isIdle());
  }

  @Test
  public void threeStreamsShareTheConnectionRoundRobin() throws Exception {
    checkRoundRobin(FrameType.DEFAULT_MAX_FRAME_SIZE);
  }

  @Test
  public void roundRobinFramesRespectALargerPeerMaxFrameSize() throws Exception {
    writer.setPeerMaxFrameBytes(32768);
    checkRoundRobin(32768);
  }

  private void checkRoundRobin(int maxFrameBytes) throws Exception {
    int perStream = 100 * 1024;
    writer.updateConnectionWindow(BIG_WINDOW);
    int[] ids = {1, 3, 5};
    Map<Integer, Integer> remaining = new HashMap<>();
    for (int id : ids) {
      queueData(stream(id, BIG_WINDOW), 0, perStream, true);
      remaining.put(id, perStream);
    }
    writer.flush();

    List<WireFrame> frames = output.takeFrames();
    int previous = -1;
    for (WireFrame f : frames) {
      assertTrue(f.isData());
      assertTrue("frame over the peer's max: " + f, f.payload.length <= maxFrameBytes);
      if (f.streamId == previous) {
        for (int id : ids) {
          if (id != f.streamId) {
            assertEquals("stream " + f.streamId + " sent twice in a row while stream " + id
                + " waited: " + frames, 0, (int) remaining.get(id));
          }
        }
      }
      int left = remaining.get(f.streamId) - f.payload.length;
      remaining.put(f.streamId, left);
      assertEquals("END_STREAM only on the last frame: " + f, left == 0, f.endStream());
      previous = f.streamId;
    }
    for (int id : ids) {
      assertPattern(dataOf(frames, id), id, perStream);
    }
    // Interleaving is real: the first frames take turns.
    assertEquals(1, frames.get(0).streamId);
    assertEquals(3, frames.get(1).streamId);
    assertEquals(5, frames.get(2).streamId);
    assertTrue(writer.isIdle());
  }

  @Test
  public void streamWindowLimitsDataUntilWindowUpdate() throws Exception {
    StreamRecorder rec = new StreamRecorder();
    OutboundStream s = new OutboundStream(1, 10, rec, writer);
    queueData(s, 0, 100, true);
    writer.flush();

    List<WireFrame> frames = output.takeFrames();
    assertEquals(1, frames.size());
    assertEquals(10, frames.get(0).payload.length);
    assertFalse(frames.get(0).endStream());
    assertEquals(10, rec.sentBytes);
    int calls = output.writeCalls;
    writer.flush();
    assertEquals("nothing more until the window opens", calls, output.writeCalls);
    assertFalse(rec.closed);

    writer.updateStreamWindow(s, 90);
    writer.flush();
    frames = output.takeFrames();
    assertEquals(1, frames.size());
    assertEquals(90, frames.get(0).payload.length);
    assertTrue(frames.get(0).endStream());
    assertEquals(100, rec.sentBytes);
    assertTrue(rec.closed);
    assertTrue(writer.isIdle());
  }

  @Test
  public void connectionWindowLimitsAllStreamsUntilWindowUpdate() throws Exception {
    OutboundStream a = stream(1, BIG_WINDOW);
    OutboundStream b = stream(3, BIG_WINDOW);
    queueData(a, 0, 50_000, true);
    queueData(b, 0, 50_000, true);
    writer.flush();

    List<WireFrame> first = output.takeFrames();
    assertEquals(FrameType.DEFAULT_INITIAL_WINDOW, dataBytes(first));
    assertEquals(0, writer.connectionWindowBytes());
    assertFalse(writer.isIdle());
    int calls = output.writeCalls;
    writer.flush();
    assertEquals("nothing more until the connection window opens", calls, output.writeCalls);

    writer.updateConnectionWindow(100_000 - FrameType.DEFAULT_INITIAL_WINDOW);
    writer.flush();
    List<WireFrame> all = new ArrayList<>(first);
    all.addAll(output.takeFrames());
    assertPattern(dataOf(all, 1), 1, 50_000);
    assertPattern(dataOf(all, 3), 3, 50_000);
    assertEquals(0, writer.connectionWindowBytes());
    assertTrue(writer.isIdle());
  }

  @Test
  public void endStreamGoesOnTheLastDataFrameOnly() throws Exception {
    StreamRecorder rec = new StreamRecorder();
    OutboundStream s = new OutboundStream(1, BIG_WINDOW, rec, writer);
    writer.updateConnectionWindow(BIG_WINDOW);
    queueData(s, 0, 20_000, false);
    queueData(s, 20_000, 20_000, true);
    writer.flush();

    List<WireFrame> frames = output.takeFrames();
    assertEquals(3, frames.size()); // 16384 + 16384 + 7232
    for (int i = 0; i < frames.size(); i++) {
      assertEquals(frames.get(i).toString(), i == frames.size() - 1, frames.get(i).endStream());
    }
    assertPattern(dataOf(frames, 1), 1, 40_000);
    assertTrue(rec.closed);
  }

  @Test
  public void endStreamWithoutDataSendsAnEmptyDataFrame() throws Exception {
    StreamRecorder rec = new StreamRecorder();
    OutboundStream s = new OutboundStream(1, BIG_WINDOW, rec, writer);
    writer.enqueueData(s, null, true);
    OutboundStream t = stream(3, BIG_WINDOW);
    ByteBuffer empty = LeanBuffers.leaseHeap(16);
    empty.flip();
    writer.enqueueData(t, empty, true); // an empty chunk is released, not queued
    writer.flush();

    List<WireFrame> frames = output.takeFrames();
    assertEquals(2, frames.size());
    for (WireFrame f : frames) {
      assertTrue(f.isData());
      assertEquals(0, f.payload.length);
      assertTrue(f.endStream());
    }
    assertTrue(rec.closed);
  }

  @Test
  public void endStreamWithoutDataIsSentEvenWithAClosedStreamWindow() throws Exception {
    // RFC 9113 §6.9: an empty DATA frame is not flow controlled.
    OutboundStream s = stream(1, 0);
    writer.enqueueData(s, null, true);
    writer.flush();
    List<WireFrame> frames = output.takeFrames();
    assertEquals(1, frames.size());
    assertTrue(frames.get(0).isData() && frames.get(0).endStream());
  }

  @Test
  public void trailersWaitForDataThenLeaveAsHeadersWithEndStream() throws Exception {
    StreamRecorder rec = new StreamRecorder();
    OutboundStream s = new OutboundStream(1, 20_000, rec, writer);
    writer.updateConnectionWindow(BIG_WINDOW);
    writer.enqueueHeaders(1, responseHeaders(), false);
    queueData(s, 0, 40_000, false);
    writer.enqueueTrailers(s, trailers());
    writer.flush();

    List<WireFrame> frames = output.takeFrames();
    assertTrue(frames.get(0).isHeaders());
    assertFalse(frames.get(0).endStream());
    decoder.decode(1, ByteBuffer.wrap(frames.get(0).payload));
    assertEquals(20_000, dataBytes(frames));
    assertEquals("no trailers while data waits on the window", 1, countHeaders(frames));
    assertFalse(rec.closed);

    writer.updateStreamWindow(s, 20_000);
    writer.flush();
    List<WireFrame> rest = output.takeFrames();
    WireFrame last = rest.get(rest.size() - 1);
    assertTrue("trailers last: " + rest, last.isHeaders());
    assertTrue(last.endStream());
    assertTrue(last.endHeaders());
    Http2Headers decoded = decoder.decode(1, ByteBuffer.wrap(last.payload));
    assertEquals("0", decoded.get("grpc-status").toString());
    for (WireFrame f : rest.subList(0, rest.size() - 1)) {
      assertTrue(f.isData());
      assertFalse("END_STREAM belongs to the trailers: " + f, f.endStream());
    }
    frames.addAll(rest);
    assertPattern(dataOf(frames, 1), 1, 40_000);
    assertTrue(rec.closed);
    assertTrue(writer.isIdle());
  }

  @Test
  public void cancelDropsQueuedDataAndReturnsItsHeapLeases() throws Exception {
    OutboundStream doomed = stream(1, 10);
    OutboundStream other = stream(3, BIG_WINDOW);
    queueData(doomed, 0, 30_000, true);
    queueData(doomed, 30_000, 30_000, true);
    queueData(other, 0, 1000, true);
    writer.flush(); // doomed sends 10 bytes and is parked on its window
    output.takeFrames();
    assertTrue(LeanBuffers.heap().leasedBytes() > heapBaseline);

    writer.cancel(doomed);
    assertEquals(heapBaseline, LeanBuffers.heap().leasedBytes());
    writer.updateStreamWindow(doomed, BIG_WINDOW);
    queueData(doomed, 0, 100, true); // late data for a reset stream is released at once
    writer.flush();
    List<WireFrame> after = output.takeFrames();
    assertTrue("nothing for a cancelled stream: " + after, after.isEmpty());
    assertTrue(writer.isIdle());
  }

  @Test
  public void queuedDataBytesFollowEveryChunkInAndOut() throws Exception {
    OutboundStream parked = stream(1, 10);
    OutboundStream early = stream(3, BIG_WINDOW);
    OutboundStream flowing = stream(5, BIG_WINDOW);
    queueData(parked, 0, 30_000, false);
    queueData(flowing, 0, 1000, true);
    early.enqueue(chunkOf(500)); // a client stream's data before it has an id
    assertEquals(31_500, writer.queuedDataBytes);

    writer.flush(); // parked sends its 10-byte window, flowing everything
    output.takeFrames();
    assertEquals(30_000 - 10 + 500, writer.queuedDataBytes);

    OutboundStream allocated = stream(7, BIG_WINDOW);
    early.moveTo(allocated);
    assertEquals(30_000 - 10 + 500, writer.queuedDataBytes);
    writer.cancel(parked);
    assertEquals(500, writer.queuedDataBytes);
    writer.cancel(allocated);
    assertEquals(0, writer.queuedDataBytes);
  }

  private static ByteBuffer chunkOf(int bytes) {
    ByteBuffer chunk = LeanBuffers.leaseHeap(bytes);
    chunk.position(bytes).flip();
    return chunk;
  }

  @Test
  public void cancelRemovesAStreamWaitingOnTheConnectionWindow() throws Exception {
    OutboundStream a = stream(1, BIG_WINDOW);
    OutboundStream b = stream(3, BIG_WINDOW);
    writer.updateConnectionWindow(-FrameType.DEFAULT_INITIAL_WINDOW); // connection window 0
    queueData(a, 0, 5000, true);
    queueData(b, 0, 5000, true);
    writer.flush();
    assertTrue(output.takeFrames().isEmpty());

    writer.cancel(a);
    writer.updateConnectionWindow(BIG_WINDOW);
    writer.flush();
    List<WireFrame> frames = output.takeFrames();
    assertEquals(0, dataOf(frames, 1).length);
    assertPattern(dataOf(frames, 3), 3, 5000);
    assertTrue(writer.isIdle());
  }

  @Test
  public void partialWriteKeepsTheRestAndWaitsForWritability() throws Exception {
    writer.updateConnectionWindow(BIG_WINDOW);
    queueScenario(writer);
    output.acceptOnly(1000);
    writer.flush();

    assertEquals(1000, output.size());
    assertEquals(1, output.writeCalls);
    assertTrue(writer.isBlocked());
    assertTrue(output.writeInterest);
    assertEquals("the writer keeps exactly one write buffer",
        LoopyWriter.WRITE_BUFFER_BYTES, LeanBuffers.io().leasedBytes() - ioBaseline);

    // Blocked: nothing new is produced, whatever is queued.
    writer.enqueue(new ControlFrame.Ping(false, 42));
    writer.flush();
    writer.flush();
    assertEquals(1, output.writeCalls);
    assertEquals(1000, output.size());

    // Still full: the writer tries once and keeps waiting.
    writer.onWritable();
    assertEquals(1000, output.size());
    assertTrue(writer.isBlocked());
    assertTrue(output.writeInterest);

    output.acceptAll();
    writer.onWritable();
    assertFalse(writer.isBlocked());
    assertFalse(output.writeInterest);
    assertTrue(writer.isIdle());
    List<WireFrame> frames = output.takeFrames();
    assertEquals(1, frames.stream().filter(f -> f.type == FrameType.PING).count());
    assertScenarioDelivered(frames);
    assertEquals(output.size(), writer.bytesWritten());
  }

  @Test
  public void partialWritesProduceExactlyTheBytesOfAnUnblockedWriter() throws Exception {
    RecordingOutput reference = new RecordingOutput();
    LoopyWriter unblocked = new LoopyWriter(reference, new HeaderBlockEncoder());
    unblocked.updateConnectionWindow(BIG_WINDOW);
    queueScenario(unblocked);
    unblocked.flush();
    assertTrue(unblocked.isIdle());

    writer.updateConnectionWindow(BIG_WINDOW);
    queueScenario(writer);
    output.acceptOnly(1000);
    writer.flush();
    int rounds = 0;
    while (writer.isBlocked()) {
      assertTrue(output.writeInterest);
      output.acceptOnly(7777); // the socket drains a little at a time
      writer.onWritable();
      rounds++;
    }
    assertTrue("the scenario should block several times", rounds > 3);
    assertFalse(output.writeInterest);
    assertTrue(writer.isIdle());
    assertArrayEquals(reference.bytes(), output.bytes());
    assertEquals(reference.size(), writer.bytesWritten());
  }

  @Test
  public void closeReleasesEveryLease() throws Exception {
    OutboundStream a = stream(1, BIG_WINDOW);
    OutboundStream b = stream(3, BIG_WINDOW);
    queueData(a, 0, 100_000, true); // more than the connection window: b and a stay queued
    queueData(b, 0, 100_000, true);
    writer.enqueue(new ControlFrame.Ping(false, 1));
    output.acceptOnly(1000);
    writer.flush(); // blocked with an unsent write buffer
    writer.enqueue(new ControlFrame.Ping(false, 2));
    assertTrue(writer.isBlocked());
    assertTrue(LeanBuffers.io().leasedBytes() > ioBaseline);
    assertTrue(LeanBuffers.heap().leasedBytes() > heapBaseline);

    writer.close();
    assertPoolsAtBaseline();
    // A closed writer writes nothing more and leases nothing.
    output.acceptAll();
    writer.flush();
    writer.onWritable();
    assertEquals(1000, output.size());
    queueData(a, 0, 10, true);
    assertPoolsAtBaseline();
  }

  @Test
  public void closeThenOwnerDiscardReleasesDataOfStreamsBlockedOnTheirOwnWindow()
      throws Exception {
    // A stream parked behind its own window is not in the writer's lists; close() releases what
    // the writer holds and the owner's discard() (both transports do it on close) the rest.
    OutboundStream parked = stream(1, 0);
    queueData(parked, 0, 1000, true);
    writer.flush();
    long heapQueued = LeanBuffers.heap().leasedBytes() - heapBaseline;
    assertTrue("the parked stream holds its queued chunk", heapQueued > 0);
    writer.close();
    assertEquals("io leases after close()", ioBaseline, LeanBuffers.io().leasedBytes());
    parked.discard();
    assertEquals("heap leases after the owner's discard()",
        heapBaseline, LeanBuffers.heap().leasedBytes());
  }

  @Test
  public void controlResponseCapRejectsEnqueuePastTheCap() throws Exception {
    for (int i = 0; i < LoopyWriter.MAX_QUEUED_CONTROL_RESPONSES; i++) {
      assertTrue("response " + i, writer.enqueue(
          i % 2 == 0 ? ControlFrame.SettingsAck.INSTANCE : new ControlFrame.Ping(true, i)));
    }
    assertFalse(writer.enqueue(ControlFrame.SettingsAck.INSTANCE));
    assertFalse(writer.enqueue(new ControlFrame.Ping(true, 1)));
    assertFalse(writer.enqueue(new ControlFrame.RstStream(1, ErrorCode.CANCEL)));
    // Frames that are not responses to the peer are never capped.
    assertTrue(writer.enqueue(new ControlFrame.Ping(false, 1)));
    assertTrue(writer.enqueue(new ControlFrame.WindowUpdate(0, 1)));
    writer.flush();
    assertEquals(LoopyWriter.MAX_QUEUED_CONTROL_RESPONSES + 2, output.takeFrames().size());
    assertTrue(writer.isIdle());
  }

  @Test
  public void drainedResponsesFreeTheirCapSlots() throws Exception {
    for (int i = 0; i < LoopyWriter.MAX_QUEUED_CONTROL_RESPONSES; i++) {
      assertTrue(writer.enqueue(ControlFrame.SettingsAck.INSTANCE));
    }
    writer.flush();
    for (int i = 0; i < LoopyWriter.MAX_QUEUED_CONTROL_RESPONSES; i++) {
      assertTrue("response " + i + " after a drain", writer.enqueue(ControlFrame.SettingsAck.INSTANCE));
    }
    writer.flush();
  }

  @Test
  public void rejectedResponsesDoNotShrinkTheCap() throws Exception {
    for (int i = 0; i < LoopyWriter.MAX_QUEUED_CONTROL_RESPONSES; i++) {
      writer.enqueue(ControlFrame.SettingsAck.INSTANCE);
    }
    assertFalse(writer.enqueue(new ControlFrame.RstStream(1, ErrorCode.CANCEL)));
    writer.flush(); // the queue is empty again
    for (int i = 0; i < LoopyWriter.MAX_QUEUED_CONTROL_RESPONSES; i++) {
      if (!writer.enqueue(ControlFrame.SettingsAck.INSTANCE)) {
        writer.flush();
        fail("an empty queue accepted only " + i + " responses of "
            + LoopyWriter.MAX_QUEUED_CONTROL_RESPONSES);
      }
    }
    writer.flush();
  }

  @Test
  public void idleWriterHoldsNoLease() throws Exception {
    writer.enqueueHeaders(1, responseHeaders(), false);
    queueData(stream(1, BIG_WINDOW), 0, 3000, false);
    writer.flush();
    assertTrue(writer.isIdle());
    assertPoolsAtBaseline();
    writer.flush(); // nothing queued: no lease, no write
    assertEquals(1, output.writeCalls);
    assertPoolsAtBaseline();
  }

  @Test
  public void headerBlockLargerThanTheWriteBufferIsSplitIntoContinuations() throws Exception {
    Http2Headers big = responseHeaders();
    byte[] value = new byte[100_000];
    java.util.Arrays.fill(value, (byte) 'x');
    big.add("x-big", new String(value, StandardCharsets.US_ASCII));
    writer.enqueue(new ControlFrame.Ping(false, 1)); // so the block does not start the buffer
    writer.enqueueHeaders(1, big, true);
    writer.flush();

    List<WireFrame> frames = output.takeFrames();
    assertEquals(FrameType.PING, frames.get(0).type);
    assertTrue(frames.get(1).isHeaders());
    assertTrue(frames.get(1).endStream());
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    for (WireFrame f : frames.subList(1, frames.size())) {
      assertTrue(f.payload.length <= FrameType.DEFAULT_MAX_FRAME_SIZE);
      block.write(f.payload, 0, f.payload.length);
    }
    assertTrue(frames.get(frames.size() - 1).endHeaders());
    assertEquals(FrameType.CONTINUATION, frames.get(2).type);
    Http2Headers decoded = decoder.decode(1, ByteBuffer.wrap(block.toByteArray()));
    assertEquals(100_000, decoded.get("x-big").length());
  }

  // ------------------------------------------------------------------ helpers

  /** Headers, DATA on three streams (one ending with trailers), a little control traffic. */
  private static void queueScenario(LoopyWriter w) {
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

  private void assertScenarioDelivered(List<WireFrame> frames) throws Exception {
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

  private void assertPoolsAtBaseline() {
    assertEquals("io leased bytes", ioBaseline, LeanBuffers.io().leasedBytes());
    assertEquals("io leases", ioLeasesBaseline, LeanBuffers.io().leasesOutstanding());
    assertEquals("heap leased bytes", heapBaseline, LeanBuffers.heap().leasedBytes());
    assertEquals("heap leases", heapLeasesBaseline, LeanBuffers.heap().leasesOutstanding());
  }

  private OutboundStream stream(int id, int windowBytes) {
    return new OutboundStream(id, windowBytes, new StreamRecorder(), writer);
  }

  private void queueData(OutboundStream s, int offset, int length, boolean endStream) {
    queueData(writer, s, offset, length, endStream);
  }

  /** Queues {@code length} bytes of stream {@code s}'s pattern, as a flipped heap lease. */
  private static void queueData(
      LoopyWriter w, OutboundStream s, int offset, int length, boolean endStream) {
    ByteBuffer chunk = LeanBuffers.leaseHeap(length);
    for (int i = 0; i < length; i++) {
      chunk.put(patternByte(s.id, offset + i));
    }
    chunk.flip();
    w.enqueueData(s, chunk, endStream);
  }

  private static byte patternByte(int streamId, int offset) {
    return (byte) (streamId * 31 + offset * 7 + (offset >>> 8));
  }

  private static void assertPattern(byte[] data, int streamId, int length) {
    assertEquals("payload bytes of stream " + streamId, length, data.length);
    for (int i = 0; i < length; i++) {
      if (data[i] != patternByte(streamId, i)) {
        fail("stream " + streamId + " payload differs at offset " + i);
      }
    }
  }

  private static byte[] dataOf(List<WireFrame> frames, int streamId) {
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    for (WireFrame f : frames) {
      if (f.isData() && f.streamId == streamId) {
        data.write(f.payload, 0, f.payload.length);
      }
    }
    return data.toByteArray();
  }

  private static int dataBytes(List<WireFrame> frames) {
    int n = 0;
    for (WireFrame f : frames) {
      if (f.isData()) {
        n += f.payload.length;
      }
    }
    return n;
  }

  private static int countHeaders(List<WireFrame> frames) {
    return (int) frames.stream().filter(WireFrame::isHeaders).count();
  }

  private static Http2Headers responseHeaders() {
    return new DefaultHttp2Headers().status("200").add("content-type", "application/grpc");
  }

  private static Http2Headers trailers() {
    return new DefaultHttp2Headers().add("grpc-status", "0");
  }

  /** Records what the writer reports for one stream. */
  private static final class StreamRecorder implements OutboundStream.Listener {
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
