package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import java.util.List;
import org.junit.Test;

/**
 * {@link LoopyWriter}'s resources against a recording fake socket: cancel drops queued DATA and
 * returns its leases, the queued-bytes count, partial writes and writability, close releasing
 * every lease, the control-response cap, and an idle writer holding nothing. Every test also
 * checks that both pools are back at their baseline afterwards ({@link LoopyWriterTestBase}).
 */
public class LoopyWriterLifecycleTest extends LoopyWriterTestBase {
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
        WriteBatch.WRITE_BUFFER_BYTES, LeanBuffers.io().leasedBytes() - ioBaseline);

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
}
