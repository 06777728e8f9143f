package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Settings;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * {@link LoopyWriter} against a recording fake socket: what goes on the wire. Frame order,
 * coalescing, round-robin fairness, flow-control windows, stream ends and header blocks split
 * into CONTINUATION frames. Every test also checks that both pools are back at their baseline
 * afterwards ({@link LoopyWriterTestBase}); cancel, partial writes, close and the caps are in
 * {@link LoopyWriterLifecycleTest}.
 */
public class LoopyWriterTest extends LoopyWriterTestBase {
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
}
