package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.Before;
import org.junit.Test;

/**
 * {@link LoopyWriter} over an output that gathers (a plaintext socket, {@link WriteBatch}): the
 * DATA payload leaves from the streams' leases, not a copy, and yet the wire is byte-exact; small
 * frames still coalesce into one write; partial writes resume where the socket stopped; and every
 * lease a batch points into stays leased, with its budget charge, until the socket has taken it,
 * then goes back, also when the stream is cancelled, the write fails or the writer closes.
 */
public class LoopyWriterGatherTest extends LoopyWriterTestBase {
  @Before
  public void gather() {
    output.gathering = true;
    assertTrue(writer.updateConnectionWindow(BIG_WINDOW));
  }

  /** Queues {@code length} bytes of {@code s}'s pattern in direct outbound leases of 64 KiB. */
  void queueDirect(OutboundStream s, int offset, int length, boolean endStream) {
    int done = 0;
    while (done < length) {
      int n = Math.min(64 * 1024, length - done);
      ByteBuffer chunk = LeanBuffers.leaseOutbound(n);
      for (int i = 0; i < n; i++) {
        chunk.put(patternByte(s.id, offset + done + i));
      }
      chunk.flip();
      if (s.budget != null) {
        s.budget.reserve(chunk.capacity());
      }
      writer.enqueueData(s, chunk, endStream && done + n == length);
      done += n;
    }
  }

  @Test
  public void scenarioIsByteExactWhenGathered() throws Exception {
    queueScenario(writer);
    writer.flush();
    assertScenarioDelivered(output.takeFrames());
    assertTrue("gathered", output.gatherCalls > 0);
    assertTrue(writer.isIdle());
  }

  @Test
  public void framesFollowFramerBuffersSoFullBuffersLeaveWhole() throws Exception {
    OutboundStream s = stream(1, BIG_WINDOW);
    writer.setPeerMaxFrameBytes(16 * 1024);
    // Two messages as a server stream's framer leaves them: 1 MiB + the 5-byte gRPC header
    // fills 64 full buffers and leaves 5 bytes in a 65th.
    int full = LeanWritableBuffer.SERVER_BUFFER_BYTES;
    int message = (1 << 20) + 5;
    List<ByteBuffer> chunks = new ArrayList<>();
    for (int m = 0; m < 2; m++) {
      for (int done = 0; done < message; done += full) {
        int n = Math.min(full, message - done);
        ByteBuffer chunk = LeanBuffers.leaseOutbound(n);
        for (int i = 0; i < n; i++) {
          chunk.put(patternByte(1, m * message + done + i));
        }
        chunk.flip();
        chunks.add(chunk);
        writer.enqueueData(s, chunk, m == 1 && done + n == message);
      }
    }
    writer.flush();
    List<WireFrame> frames = output.takeFrames();
    assertPattern(dataOf(frames, 1), 1, 2 * message);
    // Each frame is one buffer: a message's short tail goes alone instead of shifting every
    // frame of the next message across two buffers (each then needing a view of its own).
    List<Integer> sizes = new ArrayList<>();
    for (WireFrame f : frames) {
      sizes.add(f.payload.length);
    }
    List<Integer> expected = new ArrayList<>();
    for (ByteBuffer chunk : chunks) {
      expected.add(chunk.limit());
    }
    assertEquals(expected, sizes);
    for (ByteBuffer chunk : chunks) {
      if (chunk.limit() == full) {
        assertTrue("a full buffer went to the socket itself", output.gathered(chunk));
      }
    }
  }

  @Test
  public void bulkDataLeavesInFewLargeGatheringWrites() throws Exception {
    OutboundStream s = stream(1, BIG_WINDOW);
    writer.setPeerMaxFrameBytes(16 * 1024);
    queueDirect(s, 0, 1 << 20, true);
    writer.flush();
    List<WireFrame> frames = output.takeFrames();
    assertPattern(dataOf(frames, 1), 1, 1 << 20);
    // 1 MiB in 16 KiB frames: four batches of at most 256 KiB, not sixteen 64 KiB buffers.
    int batches = (1 << 20) / WriteBatch.GATHER_BATCH_BYTES + 1;
    assertTrue("write calls " + output.writeCalls, output.writeCalls <= batches);
    assertEquals(output.writeCalls, output.gatherCalls);
    assertEquals(1 << 20, writer.bytesWritten() - 9L * frames.size());
  }

  @Test
  public void smallFramesOfManyStreamsCoalesceIntoOneWrite() throws Exception {
    List<OutboundStream> streams = new ArrayList<>();
    for (int id = 1; id <= 99; id += 2) {
      OutboundStream s = stream(id, BIG_WINDOW);
      streams.add(s);
      writer.enqueueLeadingHeaders(s, responseHeaders());
      queueDirect(s, 0, 100, false);
      writer.enqueueTrailers(s, trailers());
    }
    writer.flush();
    assertEquals("one write for fifty small responses", 1, output.writeCalls);
    // Copied into the frame buffer, not gathered: one segment for the whole batch.
    assertEquals(1, output.maxGatherBuffers);
    List<WireFrame> frames = output.takeFrames();
    for (OutboundStream s : streams) {
      assertPattern(dataOf(frames, s.id), s.id, 100);
    }
  }

  @Test
  public void partialWritesResumeExactlyAndHoldLeasesUntilWritten() throws Exception {
    LeanMemoryBudget budget = LeanMemoryBudget.of(64 << 20, null);
    OutboundStream s = new OutboundStream(1, BIG_WINDOW, new StreamRecorder(), writer, budget);
    queueDirect(s, 0, 600_000, true);
    long charged = budget.usedBytes();
    int[] steps = {1, 8, 9, 10, 4095, 16_393, 70_001, 3, 200_000};
    int step = 0;
    output.acceptOnly(0);
    writer.flush();
    assertTrue(writer.isBlocked());
    assertTrue(output.writeInterest);
    while (writer.isBlocked()) {
      // The batch's payload is still in the leases: none went back, nor its budget charge.
      assertTrue(LeanBuffers.outbound().leasedBytes() > outboundBaseline);
      assertTrue(budget.usedBytes() > 0);
      output.acceptOnly(steps[step++ % steps.length]);
      writer.onWritable();
    }
    assertFalse(output.writeInterest);
    assertPattern(dataOf(output.takeFrames(), 1), 1, 600_000);
    assertTrue("went through many partial writes: " + step, step > 5);
    assertTrue(charged > 0);
    assertEquals("every charge returned", 0, budget.usedBytes());
    assertTrue(writer.isIdle());
  }

  @Test
  public void cancelWhileBlockedKeepsTheBytesBeingWrittenIntact() throws Exception {
    OutboundStream doomed = stream(1, BIG_WINDOW);
    writer.setPeerMaxFrameBytes(16 * 1024);
    queueDirect(doomed, 0, 500_000, true);
    output.acceptOnly(5000);
    writer.flush();
    assertTrue(writer.isBlocked());
    writer.cancel(doomed);
    // A lease released early would come back from the pool now and be overwritten here.
    List<ByteBuffer> scribbles = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      ByteBuffer b = LeanBuffers.leaseOutbound(64 * 1024);
      while (b.hasRemaining()) {
        b.put((byte) 0x5a);
      }
      scribbles.add(b);
    }
    output.acceptAll();
    writer.onWritable();
    assertFalse(writer.isBlocked());
    byte[] sent = dataOf(output.takeFrames(), 1);
    assertTrue("the blocked batch went out: " + sent.length, sent.length > 5000);
    for (int i = 0; i < sent.length; i++) {
      assertEquals("byte " + i, patternByte(1, i), sent[i]);
    }
    scribbles.forEach(LeanBuffers::releaseOutbound);
    assertTrue(writer.isIdle());
  }

  @Test
  public void closeWhileBlockedReturnsEveryLease() throws Exception {
    OutboundStream s = stream(1, BIG_WINDOW);
    OutboundStream parked = stream(3, 0);
    queueDirect(s, 0, 700_000, true);
    queueDirect(parked, 0, 1000, true);
    output.acceptOnly(20_000);
    writer.flush();
    assertTrue(writer.isBlocked());
    writer.close();
    parked.discard(); // its owner's part: streams parked on their window are not in the lists
    s.discard();
    assertPoolsAtBaseline();
  }

  @Test
  public void failedGatheringWriteReturnsEveryLease() throws Exception {
    OutboundStream s = stream(1, BIG_WINDOW);
    queueDirect(s, 0, 300_000, true);
    output.failNextWrite = new IOException("connection reset");
    assertThrows(IOException.class, writer::flush);
    writer.close();
    assertPoolsAtBaseline();
  }

  @Test
  public void failedResumeReturnsEveryLease() throws Exception {
    OutboundStream s = stream(1, BIG_WINDOW);
    queueDirect(s, 0, 300_000, true);
    output.acceptOnly(1000);
    writer.flush();
    assertTrue(writer.isBlocked());
    output.failNextWrite = new IOException("broken pipe");
    assertThrows(IOException.class, writer::onWritable);
    writer.close();
    assertPoolsAtBaseline();
  }

  @Test
  public void headerBlockLargerThanTheFrameBufferKeepsEarlierSegmentsIntact() throws Exception {
    OutboundStream s = stream(1, BIG_WINDOW);
    writer.setPeerMaxFrameBytes(16 * 1024);
    queueDirect(s, 0, 40_000, false);
    // Trailers follow the gathered payload in the same batch, and outgrow its frame buffer.
    io.netty.handler.codec.http2.Http2Headers huge = trailers();
    huge.add("x-big", "v".repeat(90_000));
    writer.enqueueTrailers(s, huge);
    writer.flush();
    assertTrue("encoded: " + output.failedHeaders, output.failedHeaders.isEmpty());
    assertEquals("one batch", 1, output.writeCalls);
    List<WireFrame> frames = output.takeFrames();
    assertPattern(dataOf(frames, 1), 1, 40_000);
    WireFrame last = frames.get(frames.size() - 1);
    assertTrue(last.toString(), last.type == dev.grpclean.transport.frame.FrameType.CONTINUATION
        && last.endHeaders());
    assertTrue(writer.isIdle());
  }
}
