package dev.grpclean.transport.frame;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** Each frame type parsed from hand-built bytes (RFC 9113 §6). */
public class FrameReaderTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  static final String PREFACE = "505249202a20485454502f322e300d0a0d0a534d0d0a0d0a";
  static final String EMPTY_SETTINGS = "000000 04 00 00000000";

  private final RecordingListener listener = new RecordingListener();
  private FrameReader reader;

  @Before
  public void setUp() throws Exception {
    reader = new FrameReader(listener, false, 16384, 8192);
    reader.read(Hex.buffer(EMPTY_SETTINGS));
    listener.events.clear();
  }

  private List<String> feed(String hex) throws Http2ConnectionError {
    ByteBuffer in = Hex.buffer(hex);
    reader.read(in);
    assertFalse("read must consume everything", in.hasRemaining());
    return listener.events;
  }

  @Test
  public void dataFrameShouldBeDelivered() throws Exception {
    assertEquals(List.of("DATA 3 68656c6c6f fc=5 END_STREAM"),
        feed("000005 00 01 00000003 68656c6c6f"));
    assertEquals(0, reader.pendingBytes());
  }

  @Test
  public void paddedDataShouldStripPaddingButCountItForFlowControl() throws Exception {
    // pad length 3, data "hi", 3 bytes of padding: payload 1 + 2 + 3 = 6
    assertEquals(List.of("DATA 5 6869 fc=6"), feed("000006 00 08 00000005 03 6869 000000"));
  }

  @Test
  public void emptyDataFrameAtEndOfBufferShouldBeDelivered() throws Exception {
    assertEquals(List.of("DATA 1  fc=0 END_STREAM"), feed("000000 00 01 00000001"));
  }

  @Test
  public void wholeFrameShouldBeParsedInPlace() throws Exception {
    ByteBuffer in = Hex.buffer("000003 00 00 00000001 616263");
    reader.read(in);
    assertTrue(listener.lastData.hasArray());
    assertSame("no copy: a view of the read buffer", in.array(), listener.lastData.array());
  }

  @Test
  public void headersShouldStripPaddingAndPriority() throws Exception {
    // PADDED | PRIORITY | END_HEADERS | END_STREAM; pad 2; dep 0x80000003 (exclusive), weight 15
    assertEquals(List.of("HEADERS 5 8286 END_STREAM"),
        feed("00000a 01 2d 00000005 02 80000003 0f 8286 0000"));
  }

  @Test
  public void headersWithoutFlagsShouldDeliverTheBlock() throws Exception {
    assertEquals(List.of("HEADERS 1 828684"), feed("000003 01 04 00000001 828684"));
  }

  @Test
  public void priorityFrameShouldBeDelivered() throws Exception {
    assertEquals(List.of("PRIORITY 7 dep=3 w=256 exclusive", "PRIORITY 9 dep=0 w=1"),
        feed("000005 02 00 00000007 80000003 ff | 000005 02 00 00000009 00000000 00"));
  }

  @Test
  public void rstStreamShouldBeDelivered() throws Exception {
    assertEquals(List.of("RST_STREAM 3 8", "RST_STREAM 5 4294967295"),
        feed("000004 03 00 00000003 00000008 | 000004 03 00 00000005 ffffffff"));
  }

  @Test
  public void settingsShouldBeDeliveredAndUnknownIdsIgnored() throws Exception {
    assertEquals(List.of("SETTINGS Settings{HEADER_TABLE_SIZE=0, ENABLE_PUSH=0,"
            + " MAX_CONCURRENT_STREAMS=100, INITIAL_WINDOW_SIZE=2147483647,"
            + " MAX_FRAME_SIZE=16777215, MAX_HEADER_LIST_SIZE=4294967295}"),
        feed("000030 04 00 00000000"
            + " 0001 00000000 | 0002 00000000 | 0003 00000064 | 0004 7fffffff"
            + " 0005 00ffffff | 0006 ffffffff | 00ff 12345678 | 0000 00000001"));
  }

  @Test
  public void settingsAckShouldBeDelivered() throws Exception {
    assertEquals(List.of("SETTINGS_ACK"), feed("000000 04 01 00000000"));
  }

  @Test
  public void pingShouldBeDeliveredWithAckFlag() throws Exception {
    assertEquals(List.of("PING 102030405060708", "PING ffffffffffffffff ACK"),
        feed("000008 06 00 00000000 0102030405060708 | 000008 06 01 00000000 ffffffffffffffff"));
  }

  @Test
  public void goAwayShouldBeDeliveredWithDebugData() throws Exception {
    // The reserved bit of the last stream id is ignored.
    assertEquals(List.of("GOAWAY 7 11 6f6f7073", "GOAWAY 0 0 "),
        feed("00000c 07 00 00000000 80000007 0000000b 6f6f7073"
            + " | 000008 07 00 00000000 00000000 00000000"));
  }

  @Test
  public void windowUpdateShouldBeDeliveredWithReservedBitIgnored() throws Exception {
    assertEquals(List.of("WINDOW_UPDATE 0 2147483647", "WINDOW_UPDATE 3 1"),
        feed("000004 08 00 00000000 ffffffff | 000004 08 00 00000003 00000001"));
  }

  @Test
  public void unknownFrameTypesShouldBeIgnoredWithoutBuffering() throws Exception {
    feed("000010 0a 00 00000000 0102030405");
    assertEquals(0, reader.pendingBytes()); // the 11 missing payload bytes are counted, not held
    assertEquals(List.of("PING 0 ACK"),
        feed("060708090a0b0c0d0e0f10 | 000008 06 01 00000000 0000000000000000"));
  }

  @Test
  public void reservedStreamIdBitShouldBeIgnored() throws Exception {
    assertEquals(List.of("DATA 1 aa fc=1"), feed("000001 00 00 80000001 aa"));
  }

  @Test
  public void manyFramesInOneBufferShouldBeDeliveredInOrder() throws Exception {
    assertEquals(List.of("HEADERS 1 82", "DATA 1 01 fc=1", "WINDOW_UPDATE 0 100",
            "DATA 1 02 fc=1 END_STREAM", "PING 1", "SETTINGS_ACK"),
        feed("000001 01 04 00000001 82 | 000001 00 00 00000001 01"
            + " | 000004 08 00 00000000 00000064 | 000001 00 01 00000001 02"
            + " | 000008 06 00 00000000 0000000000000001 | 000000 04 01 00000000"));
    assertEquals(0, reader.pendingBytes());
  }

  @Test
  public void serverShouldAcceptPrefaceThenSettings() throws Exception {
    RecordingListener server = new RecordingListener();
    FrameReader r = new FrameReader(server, true, 16384, 8192);
    r.read(Hex.buffer(PREFACE + "000006 04 00 00000000 0003 00000064"));
    assertEquals(List.of("SETTINGS Settings{MAX_CONCURRENT_STREAMS=100}"), server.events);
  }

  @Test
  public void serverShouldAcceptEnablePushOne() throws Exception {
    RecordingListener server = new RecordingListener();
    FrameReader r = new FrameReader(server, true, 16384, 8192);
    r.read(Hex.buffer(PREFACE + "000006 04 00 00000000 0002 00000001"));
    assertEquals(List.of("SETTINGS Settings{ENABLE_PUSH=1}"), server.events);
  }

  @Test
  public void largerMaxFrameSizeShouldAcceptLargerFrames() throws Exception {
    reader.setMaxFrameSize(20000);
    ByteBuffer in = ByteBuffer.allocate(9 + 20000);
    in.put(Hex.bytes("004e20 00 00 00000001")).position(0);
    reader.read(in);
    assertEquals(1, listener.events.size());
    assertTrue(listener.events.get(0).endsWith("fc=20000"));
  }

  @Test
  public void releaseShouldDropStashes() throws Exception {
    feed("000010 00 00 00000001 01020304");
    assertTrue(reader.pendingBytes() > 0);
    reader.release();
    assertEquals(0, reader.pendingBytes());
  }
}
