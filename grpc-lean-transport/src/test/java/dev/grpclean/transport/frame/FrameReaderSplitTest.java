package dev.grpclean.transport.frame;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.pool.BufferPool;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The stash policy: any split of the input gives the same callbacks, nothing is held once frames
 * complete, and what is held stays within about twice the bytes pending.
 */
public class FrameReaderSplitTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  /**
   * A server's inbound byte stream: preface, then one frame of every kind. Each element is one
   * "delivery unit": the bytes after which all earlier input has been dispatched (a header block
   * with CONTINUATION frames is one unit).
   */
  private static final String[] UNITS = {
    FrameReaderTest.PREFACE,
    "00000c 04 00 00000000 0004 00010000 0005 00004000",
    "000000 04 01 00000000",
    // HEADERS (padded, priority, no END_HEADERS) + 2 CONTINUATION
    "00000b 01 28 00000001 02 00000000 0f 828684 0000"
        + " | 000002 09 00 00000001 4104 | 000004 09 04 00000001 61626364",
    "000014 00 08 00000001 05 " + Hex.repeat(0x5a, 14) + "0000000000",
    "000005 02 00 00000003 00000001 07",
    "000004 08 00 00000001 00001000",
    "000003 0b 00 00000000 010203", // unknown type
    "000008 06 00 00000000 0123456789abcdef",
    "000004 03 00 00000001 00000008",
    "000000 00 01 00000001",
    "00000a 07 00 00000000 00000001 00000000 6279",
  };

  private static final List<String> EXPECTED = List.of(
      "SETTINGS Settings{INITIAL_WINDOW_SIZE=65536, MAX_FRAME_SIZE=16384}",
      "SETTINGS_ACK",
      "HEADERS 1 828684410461626364",
      "DATA 1 " + Hex.repeat(0x5a, 14) + " fc=20",
      "PRIORITY 3 dep=1 w=8",
      "WINDOW_UPDATE 1 4096",
      "PING 123456789abcdef",
      "RST_STREAM 1 8",
      "DATA 1  fc=0 END_STREAM",
      "GOAWAY 1 0 6279");

  private static byte[] stream() {
    return Hex.concat(UNITS);
  }

  /** Offsets at which everything before has been dispatched. */
  private static List<Integer> deliveryPoints() {
    List<Integer> points = new ArrayList<>();
    int offset = 0;
    points.add(0);
    for (String unit : UNITS) {
      offset += Hex.bytes(unit).length;
      points.add(offset);
    }
    return points;
  }

  private static FrameReader newReader(RecordingListener listener) {
    return new FrameReader(listener, true, 16384, 1024);
  }

  @Test
  public void wholeStreamShouldProduceExpectedCallbacks() throws Exception {
    RecordingListener listener = new RecordingListener();
    FrameReader reader = newReader(listener);
    reader.read(ByteBuffer.wrap(stream()));
    assertEquals(EXPECTED, listener.events);
    assertEquals(0, reader.pendingBytes());
  }

  @Test
  public void splitAtEveryByteBoundaryShouldProduceSameCallbacks() throws Exception {
    byte[] all = stream();
    for (int split = 0; split <= all.length; split++) {
      RecordingListener listener = new RecordingListener();
      FrameReader reader = newReader(listener);
      ByteBuffer first = ByteBuffer.wrap(all, 0, split).slice();
      ByteBuffer second = ByteBuffer.wrap(all, split, all.length - split).slice();
      reader.read(first);
      reader.read(second);
      assertFalse(first.hasRemaining() || second.hasRemaining());
      assertEquals("split at " + split, EXPECTED, listener.events);
      assertEquals("split at " + split, 0, reader.pendingBytes());
    }
  }

  @Test
  public void oneByteAtATimeShouldProduceSameCallbacksWithBoundedMemory() throws Exception {
    byte[] all = stream();
    List<Integer> points = deliveryPoints();
    RecordingListener listener = new RecordingListener();
    FrameReader reader = newReader(listener);
    int lastPoint = 0;
    for (int i = 0; i < all.length; i++) {
      // A direct buffer too: the reader must not rely on array access.
      ByteBuffer one = ByteBuffer.allocateDirect(1).put(all[i]).flip();
      reader.read(one);
      int fed = i + 1;
      if (points.contains(fed)) {
        lastPoint = fed;
      }
      int pending = fed - lastPoint;
      assertTrue("held " + reader.pendingBytes() + " with " + pending + " pending at " + fed,
          reader.pendingBytes() <= 2 * pending + 16);
      if (pending == 0) {
        assertEquals("nothing held at a frame boundary", 0, reader.pendingBytes());
      }
    }
    assertEquals(EXPECTED, listener.events);
  }

  @Test
  public void maxSizeFrameFedByteByByteShouldStayWithinTwicePending() throws Exception {
    RecordingListener listener = new RecordingListener();
    FrameReader reader = new FrameReader(listener, false, 16384, 1024);
    reader.read(Hex.buffer(FrameReaderTest.EMPTY_SETTINGS));
    listener.events.clear();
    byte[] frame = new byte[9 + 16384];
    System.arraycopy(Hex.bytes("004000 00 00 00000001"), 0, frame, 0, 9);
    frame[9 + 16383] = 0x7f;
    int maxHeld = 0;
    for (int i = 0; i < frame.length; i++) {
      reader.read(ByteBuffer.wrap(frame, i, 1));
      int pending = i + 1 == frame.length ? 0 : i + 1;
      assertTrue(reader.pendingBytes() <= 2 * pending + 16);
      maxHeld = Math.max(maxHeld, reader.pendingBytes());
    }
    assertEquals("never more than the exact payload", 16384, maxHeld);
    assertEquals(1, listener.events.size());
    assertTrue(listener.events.get(0).endsWith("7f fc=16384"));
    assertEquals(0, reader.pendingBytes());
  }

  @Test
  public void tailShorterThanHeaderShouldBeHeldInTinyArray() throws Exception {
    RecordingListener listener = new RecordingListener();
    FrameReader reader = new FrameReader(listener, false, 16384, 1024);
    reader.read(Hex.buffer(FrameReaderTest.EMPTY_SETTINGS + "000008 06"));
    assertEquals(FrameType.FRAME_HEADER_BYTES, reader.pendingBytes());
    reader.read(Hex.buffer("00 00000000 00000000"));
    assertEquals("header parsed; payload array of exactly 8", 8, reader.pendingBytes());
    reader.read(Hex.buffer("00000001"));
    assertEquals(0, reader.pendingBytes());
    assertEquals("PING 1", listener.events.get(1));
  }

  @Test
  public void pooledStashFedByteByByteShouldStayWithinTwicePendingAndReturnItsLeases()
      throws Exception {
    BufferPool pool = new BufferPool("stash", false, 1 << 20, true);
    RecordingListener listener = new RecordingListener();
    FrameReader reader = new FrameReader(listener, false, 16384, 1024, pool);
    reader.read(Hex.buffer(FrameReaderTest.EMPTY_SETTINGS));
    listener.events.clear();
    byte[] frame = new byte[9 + 16384];
    System.arraycopy(Hex.bytes("004000 00 00 00000001"), 0, frame, 0, 9);
    frame[9 + 16383] = 0x7f;
    for (int i = 0; i < frame.length; i++) {
      reader.read(ByteBuffer.wrap(frame, i, 1));
      int pending = i + 1 == frame.length ? 0 : i + 1;
      assertTrue(reader.pendingBytes() <= 2 * pending + 16);
      // What the reader leases is exactly the stash it reports, never more.
      assertTrue(pool.leasedBytes() <= reader.pendingBytes());
    }
    assertEquals(1, listener.events.size());
    assertTrue(listener.events.get(0).endsWith("7f fc=16384"));
    assertEquals(0, reader.pendingBytes());
    assertEquals(0, pool.leasedBytes());
  }

  @Test
  public void frameSplitAcrossReadsShouldReuseAPooledStashNotAllocate() throws Exception {
    BufferPool pool = new BufferPool("stash", false, 1 << 20, true);
    RecordingListener listener = new RecordingListener();
    FrameReader reader = new FrameReader(listener, false, 16384, 1024, pool);
    reader.read(Hex.buffer(FrameReaderTest.EMPTY_SETTINGS));
    byte[] frame = new byte[9 + 16384];
    System.arraycopy(Hex.bytes("004000 00 00 00000001"), 0, frame, 0, 9);
    // As under load: a socket read ends 5000 bytes into the payload, the next read brings the
    // rest. The stash is a pool class (8 KiB, then 16 KiB), leased and returned each time.
    for (int i = 0; i < 10; i++) {
      reader.read(ByteBuffer.wrap(frame, 0, 9 + 5000));
      assertEquals(8192, pool.leasedBytes());
      reader.read(ByteBuffer.wrap(frame, 9 + 5000, 16384 - 5000));
      assertEquals(0, pool.leasedBytes());
    }
    assertEquals(11, listener.events.size());
    assertEquals("the first split allocated, the other nine reused", 8192 + 16384,
        pool.allocatedBytes());
  }

  @Test
  public void pooledStashSmallerThanItsClassShouldHandOverExactlyThePayload() throws Exception {
    BufferPool pool = new BufferPool("stash", false, 1 << 20, true);
    RecordingListener listener = new RecordingListener();
    FrameReader reader = new FrameReader(listener, false, 16384, 1024, pool);
    reader.read(Hex.buffer(FrameReaderTest.EMPTY_SETTINGS));
    listener.events.clear();
    // A 10,000-byte DATA frame split after 6,000 payload bytes: its stash is a 16 KiB lease, and
    // the listener gets that lease as the payload, narrowed to exactly the frame's bytes.
    byte[] frame = new byte[9 + 10000];
    System.arraycopy(Hex.bytes("002710 00 01 00000003"), 0, frame, 0, 9);
    for (int i = 0; i < 10000; i++) {
      frame[9 + i] = (byte) i;
    }
    reader.read(ByteBuffer.wrap(frame, 0, 9 + 6000));
    assertEquals(8192, pool.leasedBytes());
    reader.read(ByteBuffer.wrap(frame, 9 + 6000, 4000));
    assertEquals(1, listener.events.size());
    ByteBuffer seen = listener.lastData;
    assertEquals(0, seen.position());
    assertEquals(10000, seen.remaining());
    for (int i = 0; i < 10000; i++) {
      assertEquals((byte) i, seen.get(i));
    }
    assertTrue(listener.events.get(0).endsWith(" fc=10000 END_STREAM"));
    assertEquals(0, pool.leasedBytes());
    pool.assertNoLeaks();
  }

  @Test
  public void releasedReaderShouldReturnItsStashLease() throws Exception {
    BufferPool pool = new BufferPool("stash", false, 1 << 20, true);
    FrameReader reader = new FrameReader(new RecordingListener(), false, 16384, 1024, pool);
    reader.read(Hex.buffer(FrameReaderTest.EMPTY_SETTINGS));
    byte[] frame = new byte[9 + 16384];
    System.arraycopy(Hex.bytes("004000 00 00 00000001"), 0, frame, 0, 9);
    reader.read(ByteBuffer.wrap(frame, 0, 9 + 9000));
    assertEquals(16384, pool.leasedBytes());
    reader.release();
    assertEquals(0, pool.leasedBytes());
    pool.assertNoLeaks();
  }
}
