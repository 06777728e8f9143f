package dev.grpclean.transport.frame;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** HEADERS + CONTINUATION assembly (RFC 9113 §6.10) and the header block cap. */
public class HeaderBlockAssemblyTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final int CAP_BYTES = 100;

  private final RecordingListener listener = new RecordingListener();
  private final FrameReader reader = newReader();

  private FrameReader newReader() {
    FrameReader r = new FrameReader(listener, false, 16384, CAP_BYTES);
    try {
      r.read(Hex.buffer(FrameReaderTest.EMPTY_SETTINGS));
    } catch (Http2ConnectionError e) {
      throw new AssertionError(e);
    }
    listener.events.clear();
    return r;
  }

  private Http2ConnectionError connectionError(ErrorCode code, String hex) {
    Http2ConnectionError e =
        assertThrows(Http2ConnectionError.class, () -> reader.read(Hex.buffer(hex)));
    assertEquals(e.getMessage(), code, e.code());
    return e;
  }

  @Test
  public void continuationFramesShouldBeJoinedIntoOneBlock() throws Exception {
    reader.read(Hex.buffer("000002 01 01 00000003 8286"));
    assertTrue(listener.events.isEmpty());
    reader.read(Hex.buffer("000001 09 00 00000003 84 | 000002 09 04 00000003 4100"));
    // END_STREAM comes from the HEADERS frame.
    assertEquals(List.of("HEADERS 3 8286844100 END_STREAM"), listener.events);
    assertEquals(0, reader.pendingBytes());
  }

  @Test
  public void emptyContinuationFramesShouldBeAllowed() throws Exception {
    reader.read(Hex.buffer(
        "000000 01 00 00000003 | 000000 09 00 00000003 | 000001 09 04 00000003 82"));
    assertEquals(List.of("HEADERS 3 82"), listener.events);
  }

  @Test
  public void continuationOnAnotherStreamShouldFail() {
    connectionError(ErrorCode.PROTOCOL_ERROR,
        "000001 01 00 00000003 82 | 000001 09 04 00000005 84");
  }

  @Test
  public void otherFrameInsideHeaderBlockShouldFail() {
    connectionError(ErrorCode.PROTOCOL_ERROR,
        "000001 01 00 00000003 82 | 000008 06 00 00000000 0000000000000000");
  }

  @Test
  public void unknownFrameInsideHeaderBlockShouldFail() {
    // RFC 9113 §6.10: even a frame of unknown type may not interrupt a header block.
    connectionError(ErrorCode.PROTOCOL_ERROR, "000001 01 00 00000003 82 | 000000 0b 00 00000000");
  }

  @Test
  public void continuationWithoutHeadersShouldFail() {
    connectionError(ErrorCode.PROTOCOL_ERROR, "000001 09 04 00000003 82");
  }

  @Test
  public void continuationAfterCompleteBlockShouldFail() {
    connectionError(ErrorCode.PROTOCOL_ERROR,
        "000001 01 04 00000003 82 | 000001 09 04 00000003 84");
  }

  @Test
  public void blockExactlyAtCapShouldBeAccepted() throws Exception {
    reader.read(Hex.buffer("000032 01 00 00000001 " + Hex.repeat(0x82, 50)
        + " 000032 09 04 00000001 " + Hex.repeat(0x84, 50)));
    assertEquals(1, listener.events.size());
  }

  @Test
  public void continuationCrossingCapShouldFailFromItsHeaderAlone() throws Exception {
    reader.read(Hex.buffer("000032 01 00 00000001 " + Hex.repeat(0x82, 50)));
    // Only the 9-byte CONTINUATION header: 50 + 51 > 100, so fail before buffering anything.
    Http2ConnectionError e =
        connectionError(ErrorCode.ENHANCE_YOUR_CALM, "000033 09 04 00000001");
    assertTrue(e.getMessage(), e.getMessage().contains("limit of " + CAP_BYTES + " bytes"));
    assertEquals(0, reader.pendingBytes());
  }

  @Test
  public void singleHeadersFrameOverCapShouldFail() {
    connectionError(ErrorCode.ENHANCE_YOUR_CALM,
        "000065 01 04 00000001 " + Hex.repeat(0x82, 101));
  }

  @Test
  public void oversizedFirstFragmentShouldFail() {
    connectionError(ErrorCode.ENHANCE_YOUR_CALM,
        "000065 01 00 00000001 " + Hex.repeat(0x82, 101));
  }

  @Test
  public void paddingShouldNotCountAgainstTheCap() throws Exception {
    // 100 block bytes + pad length byte + 10 bytes of padding.
    reader.read(Hex.buffer("00006f 01 0c 00000001 0a " + Hex.repeat(0x82, 100)
        + Hex.repeat(0, 10)));
    assertEquals(1, listener.events.size());
  }

  @Test
  public void assemblyBufferShouldGrowGeometricallyNotToTheCap() throws Exception {
    RecordingListener big = new RecordingListener();
    FrameReader r = new FrameReader(big, false, 16384, 1 << 20);
    r.read(Hex.buffer(FrameReaderTest.EMPTY_SETTINGS + "000004 01 00 00000001 82848687"));
    assertEquals("exactly the first fragment", 4, r.pendingBytes());
    int blockBytes = 4;
    for (int i = 0; i < 40; i++) {
      r.read(Hex.buffer("000003 09 00 00000001 414243"));
      blockBytes += 3;
      assertTrue(r.pendingBytes() + " held for " + blockBytes,
          r.pendingBytes() <= 2 * blockBytes);
    }
    r.read(Hex.buffer("000000 09 04 00000001"));
    assertEquals(0, r.pendingBytes());
    assertEquals(2, big.events.size());
  }
}
