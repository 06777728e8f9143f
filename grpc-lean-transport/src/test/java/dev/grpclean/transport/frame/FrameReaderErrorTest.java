package dev.grpclean.transport.frame;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** Every error rule of the reader: the right class (connection or stream) and code. */
public class FrameReaderErrorTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private final RecordingListener listener = new RecordingListener();
  private FrameReader reader;

  @Before
  public void setUp() throws Exception {
    reader = new FrameReader(listener, false, 16384, 8192);
    reader.read(Hex.buffer(FrameReaderTest.EMPTY_SETTINGS));
    listener.events.clear();
  }

  private Http2ConnectionError connectionError(ErrorCode code, String hex) {
    Http2ConnectionError e =
        assertThrows(Http2ConnectionError.class, () -> reader.read(Hex.buffer(hex)));
    assertEquals(e.getMessage(), code, e.code());
    return e;
  }

  /** Feeds {@code hex} followed by a PING, which must still arrive after the stream error. */
  private void streamError(int streamId, ErrorCode code, String hex) throws Exception {
    reader.read(Hex.buffer(hex + " 000008 06 00 00000000 0000000000000001"));
    assertEquals(streamId, listener.lastStreamError.streamId());
    assertEquals(code, listener.lastStreamError.code());
    assertEquals("STREAM_ERROR " + streamId + " " + code,
        listener.events.get(listener.events.size() - 2));
    assertEquals("PING 1", listener.events.get(listener.events.size() - 1));
  }

  @Test
  public void prefaceMismatchShouldFailOnFirstByte() {
    reader = new FrameReader(listener, true, 16384, 8192);
    Http2ConnectionError e = connectionError(ErrorCode.PROTOCOL_ERROR, "50 52 49 20 2a 20 48 55");
    assertTrue(e.getMessage(), e.getMessage().contains("preface"));
  }

  @Test
  public void http1RequestShouldSayItIsNotHttp2() {
    reader = new FrameReader(listener, true, 16384, 8192);
    String get = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    StringBuilder hex = new StringBuilder();
    for (char c : get.toCharArray()) {
      hex.append(String.format("%02x", (int) c));
    }
    Http2ConnectionError e = connectionError(ErrorCode.PROTOCOL_ERROR, hex.toString());
    assertTrue(e.getMessage(), e.getMessage().contains("\"GET / HTTP/1.1\""));
    assertTrue(e.getMessage(), e.getMessage().contains("HTTP/1.x request, not HTTP/2"));
  }

  @Test
  public void singleWrongPrefaceByteShouldFailWithoutWaitingFor24() {
    reader = new FrameReader(listener, true, 16384, 8192);
    connectionError(ErrorCode.PROTOCOL_ERROR, "47"); // just "G"
  }

  @Test
  public void tlsClientHelloShouldBeExplained() {
    reader = new FrameReader(listener, true, 16384, 8192);
    Http2ConnectionError e = connectionError(ErrorCode.PROTOCOL_ERROR, "160301");
    assertTrue(e.getMessage(), e.getMessage().contains("TLS"));
  }

  @Test
  public void prefaceSplitAcrossReadsShouldBeAccepted() throws Exception {
    reader = new FrameReader(listener, true, 16384, 8192);
    String preface = FrameReaderTest.PREFACE;
    reader.read(Hex.buffer(preface.substring(0, 10)));
    reader.read(Hex.buffer(preface.substring(10) + FrameReaderTest.EMPTY_SETTINGS));
    assertEquals(List.of("SETTINGS Settings{}"), listener.events);
  }

  @Test
  public void firstFrameOtherThanSettingsShouldFail() {
    reader = new FrameReader(listener, false, 16384, 8192);
    connectionError(ErrorCode.PROTOCOL_ERROR, "000008 06 00 00000000");
    reader = new FrameReader(listener, true, 16384, 8192);
    connectionError(ErrorCode.PROTOCOL_ERROR,
        FrameReaderTest.PREFACE + "000004 08 00 00000000 00000001");
  }

  @Test
  public void settingsAckAsFirstFrameShouldFail() {
    reader = new FrameReader(listener, false, 16384, 8192);
    connectionError(ErrorCode.PROTOCOL_ERROR, "000000 04 01 00000000");
  }

  @Test
  public void oversizedFrameShouldFailFromHeaderAlone() {
    connectionError(ErrorCode.FRAME_SIZE_ERROR, "004001 00 00 00000001");
    assertEquals(0, reader.pendingBytes());
  }

  @Test
  public void streamFramesOnStreamZeroShouldFail() throws Exception {
    String[] frames = {
      "000001 00 00 00000000 00", "000001 01 04 00000000 82", "000005 02 00 00000000 0000000110",
      "000004 03 00 00000000 00000000"
    };
    for (String frame : frames) {
      setUp();
      connectionError(ErrorCode.PROTOCOL_ERROR, frame);
    }
    setUp();
    connectionError(ErrorCode.PROTOCOL_ERROR, "000001 01 00 00000001 82 | 000001 09 04 00000000 84");
  }

  @Test
  public void connectionFramesOnAStreamShouldFail() throws Exception {
    String[] frames = {
      "000000 04 00 00000001", "000008 06 00 00000001 0000000000000000",
      "000008 07 00 00000001 0000000000000000"
    };
    for (String frame : frames) {
      setUp();
      connectionError(ErrorCode.PROTOCOL_ERROR, frame);
    }
  }

  @Test
  public void wrongFixedLengthsShouldBeFrameSizeErrors() throws Exception {
    String[] frames = {
      "000006 04 01 00000000 000100000000", // SETTINGS ACK with payload
      "000005 04 00 00000000 0001000000", // SETTINGS length % 6 != 0
      "000007 06 00 00000000 00000000000000", // PING length 7
      "000009 06 00 00000000 000000000000000000", // PING length 9
      "000003 03 00 00000001 000000", // RST_STREAM length 3
      "000005 08 00 00000001 0000000001", // WINDOW_UPDATE length 5
      "000007 07 00 00000000 00000000000000", // GOAWAY below 8
      "000000 00 08 00000001", // PADDED DATA without a pad length byte
    };
    for (String frame : frames) {
      setUp();
      connectionError(ErrorCode.FRAME_SIZE_ERROR, frame);
    }
  }

  @Test
  public void priorityWithWrongLengthShouldBeStreamFrameSizeError() throws Exception {
    streamError(3, ErrorCode.FRAME_SIZE_ERROR, "000004 02 00 00000003 00000001");
  }

  @Test
  public void paddingAsLongAsPayloadShouldFail() throws Exception {
    connectionError(ErrorCode.PROTOCOL_ERROR, "000003 00 08 00000001 03 0000");
    setUp();
    connectionError(ErrorCode.PROTOCOL_ERROR, "000003 01 0c 00000001 03 8200");
    setUp();
    // PRIORITY fields plus padding longer than the payload
    connectionError(ErrorCode.PROTOCOL_ERROR, "000007 01 2c 00000001 02 00000000 0f 00");
  }

  @Test
  public void paddingOneShortOfPayloadShouldBeAccepted() throws Exception {
    reader.read(Hex.buffer("000003 00 08 00000001 02 0000"));
    assertEquals(List.of("DATA 1  fc=3"), listener.events);
  }

  @Test
  public void invalidSettingsValuesShouldFail() throws Exception {
    connectionError(ErrorCode.PROTOCOL_ERROR, "000006 04 00 00000000 0002 00000002");
    setUp();
    connectionError(ErrorCode.FLOW_CONTROL_ERROR, "000006 04 00 00000000 0004 80000000");
    setUp();
    connectionError(ErrorCode.PROTOCOL_ERROR, "000006 04 00 00000000 0005 00003fff");
    setUp();
    connectionError(ErrorCode.PROTOCOL_ERROR, "000006 04 00 00000000 0005 01000000");
  }

  @Test
  public void clientShouldRejectEnablePushOne() {
    // RFC 9113 §6.5.2: a client (no preface expected) must reject ENABLE_PUSH=1 from a server.
    connectionError(ErrorCode.PROTOCOL_ERROR, "000006 04 00 00000000 0002 00000001");
  }

  @Test
  public void settingsBoundaryValuesShouldBeAccepted() throws Exception {
    reader.read(Hex.buffer("000012 04 00 00000000 0004 7fffffff 0005 00004000 0005 00ffffff"));
    assertEquals(List.of("SETTINGS Settings{INITIAL_WINDOW_SIZE=2147483647,"
        + " MAX_FRAME_SIZE=16777215}"), listener.events);
  }

  @Test
  public void zeroWindowUpdateOnStreamShouldBeStreamError() throws Exception {
    streamError(5, ErrorCode.PROTOCOL_ERROR, "000004 08 00 00000005 80000000");
  }

  @Test
  public void zeroWindowUpdateOnConnectionShouldBeConnectionError() {
    connectionError(ErrorCode.PROTOCOL_ERROR, "000004 08 00 00000000 00000000");
  }

  @Test
  public void headersDependingOnItselfShouldDeliverBlockThenStreamError() throws Exception {
    streamError(3, ErrorCode.PROTOCOL_ERROR, "000006 01 24 00000003 00000003 0f 82");
    assertEquals("HEADERS 3 82", listener.events.get(0));
  }

  @Test
  public void continuedHeadersDependingOnItselfShouldErrAfterTheBlock() throws Exception {
    streamError(3, ErrorCode.PROTOCOL_ERROR,
        "000006 01 20 00000003 80000003 0f 82 | 000001 09 04 00000003 84");
    assertEquals("HEADERS 3 8284", listener.events.get(0));
  }

  @Test
  public void priorityDependingOnItselfShouldBeStreamError() throws Exception {
    streamError(7, ErrorCode.PROTOCOL_ERROR, "000005 02 00 00000007 00000007 10");
  }

  @Test
  public void pushPromiseShouldAlwaysFail() throws Exception {
    connectionError(ErrorCode.PROTOCOL_ERROR, "000005 05 04 00000001 00000002 82");
    reader = new FrameReader(listener, true, 16384, 8192);
    connectionError(ErrorCode.PROTOCOL_ERROR, FrameReaderTest.PREFACE
        + FrameReaderTest.EMPTY_SETTINGS + "000005 05 04 00000001");
  }

  @Test
  public void streamErrorFromCallbackShouldBeReportedAndParsingContinue() throws Exception {
    listener.failDataOnStream = 3;
    streamError(3, ErrorCode.CANCEL, "000001 00 00 00000003 aa");
    assertEquals("DATA 3 aa fc=1", listener.events.get(0));
  }

  @Test
  public void connectionErrorFromCallbackShouldPropagateAndKillTheReader() {
    Http2ConnectionError thrown = new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "flood");
    listener.failPing = thrown;
    Http2ConnectionError e = assertThrows(Http2ConnectionError.class,
        () -> reader.read(Hex.buffer("000008 06 00 00000000 0000000000000001")));
    assertSame(thrown, e);
    Http2ConnectionError again =
        assertThrows(Http2ConnectionError.class, () -> reader.read(Hex.buffer("00")));
    assertEquals(ErrorCode.ENHANCE_YOUR_CALM, again.code());
  }

  @Test
  public void readAfterErrorShouldThrowSameKind() {
    connectionError(ErrorCode.FRAME_SIZE_ERROR, "000007 06 00 00000000");
    connectionError(ErrorCode.FRAME_SIZE_ERROR, FrameReaderTest.EMPTY_SETTINGS);
    assertEquals(0, reader.pendingBytes());
  }

  @Test
  public void runtimeExceptionFromCallbackShouldPropagateAndKillTheReader() {
    listener.goAwayBug = new IllegalStateException("bug");
    assertThrows(IllegalStateException.class,
        () -> reader.read(Hex.buffer("000008 07 00 00000000 0000000000000000")));
    connectionError(ErrorCode.INTERNAL_ERROR, "00");
  }
}
