package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/**
 * {@link LoopyWriter#enqueueLeadingHeaders}: a stream's response HEADERS, DATA and trailers leave
 * as one run of frames, stream after stream, so the peer can hand each call its whole response at
 * once; the headers still ignore flow control and go with the stream when it is cancelled.
 *
 * <p>Thread-compatible: each test runs on one thread, with a fresh instance.
 */
public class LoopyWriterStreamOrderTest extends LoopyWriterTestBase {

  @Test
  public void eachStreamsResponseLeavesAsOneRunOfFrames() throws Exception {
    writer.updateConnectionWindow(BIG_WINDOW);
    List<StreamRecorder> recorders = new ArrayList<>();
    for (int id = 1; id <= 5; id += 2) {
      StreamRecorder rec = new StreamRecorder();
      recorders.add(rec);
      OutboundStream s = new OutboundStream(id, BIG_WINDOW, rec, writer);
      writer.enqueueLeadingHeaders(s, responseHeaders());
      queueData(s, 0, 100, false);
      writer.enqueueTrailers(s, trailers());
    }
    writer.flush();

    List<WireFrame> frames = output.takeFrames();
    assertEquals("one write for the three responses", 1, output.writeCalls);
    assertEquals(9, frames.size());
    for (int i = 0; i < 3; i++) {
      int id = 1 + 2 * i;
      WireFrame headers = frames.get(3 * i);
      WireFrame data = frames.get(3 * i + 1);
      WireFrame trailers = frames.get(3 * i + 2);
      assertTrue(headers.isHeaders() && headers.streamId == id && !headers.endStream());
      assertTrue(data.isData() && data.streamId == id && !data.endStream());
      assertTrue(trailers.isHeaders() && trailers.streamId == id && trailers.endStream());
      assertPattern(dataOf(frames, id), id, 100);
      assertTrue(recorders.get(i).closed);
    }
    // HPACK state changed in wire order: every block decodes in that order.
    for (WireFrame f : frames) {
      if (f.isHeaders()) {
        decoder.decode(f.streamId, ByteBuffer.wrap(f.payload));
      }
    }
    assertTrue(writer.isIdle());
  }

  @Test
  public void leadingHeadersDoNotWaitForTheStreamWindow() throws Exception {
    writer.updateConnectionWindow(BIG_WINDOW);
    StreamRecorder rec = new StreamRecorder();
    OutboundStream s = new OutboundStream(1, 0, rec, writer);
    writer.enqueueLeadingHeaders(s, responseHeaders());
    queueData(s, 0, 1000, false);
    writer.enqueueTrailers(s, trailers());
    writer.flush();

    List<WireFrame> frames = output.takeFrames();
    assertEquals(1, frames.size());
    assertTrue(frames.get(0).isHeaders());
    assertFalse(frames.get(0).endStream());
    decoder.decode(1, ByteBuffer.wrap(frames.get(0).payload));
    assertFalse(rec.closed);

    assertTrue(writer.updateStreamWindow(s, 1000));
    writer.flush();
    List<WireFrame> rest = output.takeFrames();
    assertEquals(2, rest.size());
    assertTrue(rest.get(0).isData());
    assertPattern(dataOf(rest, 1), 1, 1000);
    assertTrue(rest.get(1).isHeaders() && rest.get(1).endStream());
    assertTrue(rec.closed);
    assertTrue(writer.isIdle());
  }

  @Test
  public void cancelDropsLeadingHeadersWithTheData() throws Exception {
    StreamRecorder rec = new StreamRecorder();
    OutboundStream s = new OutboundStream(1, BIG_WINDOW, rec, writer);
    writer.enqueueLeadingHeaders(s, responseHeaders());
    queueData(s, 0, 1000, true);
    writer.cancel(s);
    writer.flush();

    assertEquals(0, output.takeFrames().size());
    assertEquals(0, output.writeCalls);
    assertFalse(rec.closed);
    assertTrue(writer.isIdle());
  }
}
