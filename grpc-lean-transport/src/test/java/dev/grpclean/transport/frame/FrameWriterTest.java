package dev.grpclean.transport.frame;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** Writer output against hand-built bytes, and writer -> reader round trips for every type. */
public class FrameWriterTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private final RecordingListener listener = new RecordingListener();

  /** Reads {@code written} (flipped) with a client-side reader that already saw SETTINGS. */
  private List<String> roundTrip(ByteBuffer written) throws Http2ConnectionError {
    FrameReader reader = new FrameReader(listener, false, 16384, 1 << 20);
    reader.read(Hex.buffer(FrameReaderTest.EMPTY_SETTINGS));
    listener.events.clear();
    written.flip();
    reader.read(written);
    assertFalse(written.hasRemaining());
    assertEquals(0, reader.pendingBytes());
    return listener.events;
  }

  @Test
  public void frameHeaderShouldMatchHandBuiltBytes() {
    ByteBuffer dst = ByteBuffer.allocate(9);
    FrameWriter.writeFrameHeader(dst, 0x123456, FrameType.HEADERS, (byte) 0x25, 0x7fffffff);
    assertEquals("123456 01 25 7fffffff".replace(" ", ""), Hex.of(dst.flip()));
  }

  @Test
  public void littleEndianBufferShouldStillGetBigEndianFields() {
    ByteBuffer dst = ByteBuffer.allocate(17).order(ByteOrder.LITTLE_ENDIAN);
    FrameWriter.writePing(dst, true, 0x0102030405060708L);
    assertEquals("000008060100000000 0102030405060708".replace(" ", ""), Hex.of(dst.flip()));
  }

  @Test
  public void settingsShouldRoundTripAndMatchHandBuiltBytes() throws Exception {
    Settings s = new Settings().set(Settings.ENABLE_PUSH, 0)
        .set(Settings.INITIAL_WINDOW_SIZE, 1 << 20).set(Settings.MAX_HEADER_LIST_SIZE, 8192);
    ByteBuffer dst = ByteBuffer.allocate(FrameWriter.settingsBytes(s));
    FrameWriter.writeSettings(dst, s);
    assertFalse(dst.hasRemaining());
    assertEquals("000012 04 00 00000000 0002 00000000 0004 00100000 0006 00002000"
        .replace(" ", ""), Hex.of(ByteBuffer.wrap(dst.array())));
    assertEquals(List.of("SETTINGS " + s), roundTrip(dst));
  }

  @Test
  public void emptySettingsAndAckShouldRoundTrip() throws Exception {
    ByteBuffer dst = ByteBuffer.allocate(18);
    FrameWriter.writeSettings(dst, new Settings());
    FrameWriter.writeSettingsAck(dst);
    assertEquals(List.of("SETTINGS Settings{}", "SETTINGS_ACK"), roundTrip(dst));
  }

  @Test
  public void pingShouldRoundTrip() throws Exception {
    ByteBuffer dst = ByteBuffer.allocate(34);
    FrameWriter.writePing(dst, false, -2L);
    FrameWriter.writePing(dst, true, 42L);
    assertEquals(List.of("PING fffffffffffffffe", "PING 2a ACK"), roundTrip(dst));
  }

  @Test
  public void windowUpdateShouldRoundTrip() throws Exception {
    ByteBuffer dst = ByteBuffer.allocate(26);
    FrameWriter.writeWindowUpdate(dst, 0, Integer.MAX_VALUE);
    FrameWriter.writeWindowUpdate(dst, 3, 1);
    assertEquals(List.of("WINDOW_UPDATE 0 2147483647", "WINDOW_UPDATE 3 1"), roundTrip(dst));
  }

  @Test
  public void rstStreamShouldRoundTrip() throws Exception {
    ByteBuffer dst = ByteBuffer.allocate(13);
    FrameWriter.writeRstStream(dst, 5, ErrorCode.CANCEL);
    assertEquals(List.of("RST_STREAM 5 8"), roundTrip(dst));
  }

  @Test
  public void goAwayShouldRoundTrip() throws Exception {
    byte[] debug = "bye".getBytes(StandardCharsets.US_ASCII);
    ByteBuffer dst = ByteBuffer.allocate(FrameWriter.goAwayBytes(debug) + 17);
    FrameWriter.writeGoAway(dst, 7, ErrorCode.ENHANCE_YOUR_CALM, debug);
    FrameWriter.writeGoAway(dst, 0, ErrorCode.NO_ERROR, new byte[0]);
    assertFalse(dst.hasRemaining());
    assertEquals(List.of("GOAWAY 7 11 627965", "GOAWAY 0 0 "), roundTrip(dst));
  }

  @Test
  public void dataShouldRoundTrip() throws Exception {
    ByteBuffer dst = ByteBuffer.allocate(9 + 3 + 9);
    FrameWriter.writeDataHeader(dst, 1, 3, false);
    dst.put(new byte[] {1, 2, 3});
    FrameWriter.writeDataHeader(dst, 1, 0, true);
    assertEquals(List.of("DATA 1 010203 fc=3", "DATA 1  fc=0 END_STREAM"), roundTrip(dst));
  }

  @Test
  public void smallHeadersShouldBeOneFrame() throws Exception {
    ByteBuffer block = Hex.buffer("828684");
    ByteBuffer dst = ByteBuffer.allocate(FrameWriter.headersBytes(3, 16384));
    FrameWriter.writeHeaders(dst, 3, block, true, 16384);
    assertEquals(0, block.position());
    assertEquals("000003 01 05 00000003 828684".replace(" ", ""), Hex.of(dst.duplicate().flip()));
    assertEquals(List.of("HEADERS 3 828684 END_STREAM"), roundTrip(dst));
  }

  @Test
  public void emptyHeaderBlockShouldBeOneEmptyFrame() throws Exception {
    ByteBuffer dst = ByteBuffer.allocate(FrameWriter.headersBytes(0, 16384));
    assertEquals(9, dst.capacity());
    FrameWriter.writeHeaders(dst, 1, ByteBuffer.allocate(0), false, 16384);
    assertEquals(List.of("HEADERS 1 "), roundTrip(dst));
  }

  @Test
  public void largeHeadersShouldBeSplitIntoContinuations() throws Exception {
    int blockLength = 2 * 16384 + 5;
    byte[] block = new byte[blockLength];
    for (int i = 0; i < blockLength; i++) {
      block[i] = (byte) i;
    }
    int size = FrameWriter.headersBytes(blockLength, 16384);
    assertEquals(blockLength + 3 * 9, size);
    ByteBuffer dst = ByteBuffer.allocate(size);
    FrameWriter.writeHeaders(dst, 9, ByteBuffer.wrap(block), false, 16384);
    assertFalse(dst.hasRemaining());
    // HEADERS without END_HEADERS, CONTINUATION, CONTINUATION with END_HEADERS.
    assertEquals("004000 01 00 00000009".replace(" ", ""), Hex.of(dst.slice(0, 9)));
    assertEquals("004000 09 00 00000009".replace(" ", ""), Hex.of(dst.slice(9 + 16384, 9)));
    assertEquals("000005 09 04 00000009".replace(" ", ""), Hex.of(dst.slice(18 + 32768, 9)));
    assertEquals(List.of("HEADERS 9 " + Hex.of(block)), roundTrip(dst));
  }

  @Test
  public void blockOfExactlyMaxFrameSizeShouldBeOneFrame() {
    assertEquals(16384 + 9, FrameWriter.headersBytes(16384, 16384));
    assertEquals(16385 + 18, FrameWriter.headersBytes(16385, 16384));
  }
}
