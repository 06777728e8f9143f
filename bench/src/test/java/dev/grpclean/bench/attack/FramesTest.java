package dev.grpclean.bench.attack;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.bench.BenchService;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import java.util.ArrayList;
import java.util.List;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The attacker's frames, read back by Netty's own frame reader as a server would: the right
 * frames in the right order, frame ends that count partly written batches, header blocks left
 * open on purpose, and an HPACK bomb that is small on the wire and huge decoded.
 */
public class FramesTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private final Frames frames = new Frames();
  private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
  private final ChannelHandlerContext ctx = channel.pipeline().firstContext();
  /** The server's side: a header list limit far above the bomb, so it decodes whole. */
  private final DefaultHttp2FrameReader reader =
      new DefaultHttp2FrameReader(new DefaultHttp2HeadersDecoder(false, 64L << 20));
  private final Recorder seen = new Recorder();

  /** Every frame the reader delivered, as "TYPE stream detail". */
  private static final class Recorder extends Http2FrameAdapter {
    final List<String> frames = new ArrayList<>();
    final List<Http2Headers> headers = new ArrayList<>();

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers h,
        int padding, boolean endOfStream) {
      frames.add("HEADERS " + streamId + (endOfStream ? " end" : ""));
      headers.add(h);
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
      frames.add("RST_STREAM " + streamId + " " + Http2Error.valueOf(errorCode));
    }

    @Override
    public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
      frames.add("SETTINGS " + settings);
    }

    @Override
    public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int increment) {
      frames.add("WINDOW_UPDATE " + streamId + " +" + increment);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
        boolean endOfStream) {
      frames.add("DATA " + streamId + " " + data.readableBytes() + (endOfStream ? " end" : ""));
      return data.readableBytes() + padding;
    }

    @Override
    public void onPingRead(ChannelHandlerContext ctx, long data) {
      frames.add("PING " + Long.toHexString(data));
    }
  }

  @After
  public void release() {
    frames.close();
    channel.finishAndReleaseAll();
  }

  @Test
  public void rapidResetPairsParseInOrderAndEndsCountWholeFrames() throws Http2Exception {
    Http2Headers echo = Attack.echoRequest();
    for (int id = 1; id <= 5; id += 2) {
      frames.headers(id, echo, false).rstStream(id, Http2Error.CANCEL);
    }
    Frames.Batch b = frames.take();
    assertEquals(6, b.frames());
    assertEquals(0, frames.pendingFrames());
    read(b.bytes.duplicate());
    assertEquals(List.of("HEADERS 1", "RST_STREAM 1 CANCEL", "HEADERS 3", "RST_STREAM 3 CANCEL",
        "HEADERS 5", "RST_STREAM 5 CANCEL"), seen.frames);
    assertEquals("/" + BenchService.ECHO.getFullMethodName(),
        seen.headers.get(2).path().toString());
    // A RST_STREAM is 13 bytes: the batch ends with one, and a byte short of it is one frame less.
    int total = b.bytes.readableBytes();
    assertEquals(6, b.framesWithin(total));
    assertEquals(5, b.framesWithin(total - 1));
    assertEquals(5, b.framesWithin(total - 13));
    assertEquals(4, b.framesWithin(total - 14));
    assertEquals(0, b.framesWithin(0));
    b.bytes.readerIndex(total - 13);
    assertEquals(5, b.framesWritten());
    b.bytes.release();
  }

  @Test
  public void prefaceCountsAsNoFrame() throws Http2Exception {
    Frames.Batch b = frames.preface().settings(new Http2Settings().initialWindowSize(0)).take();
    assertEquals(1, b.frames());
    byte[] preface = ByteBufUtil.getBytes(Http2CodecUtil.connectionPrefaceBuf());
    assertArrayEquals(preface, ByteBufUtil.getBytes(b.bytes, 0, preface.length));
    assertEquals(0, b.framesWithin(preface.length));
    read(b.bytes.slice(preface.length, b.bytes.readableBytes() - preface.length));
    assertEquals(List.of("SETTINGS {INITIAL_WINDOW_SIZE=0}"), seen.frames);
    b.bytes.release();
  }

  @Test
  public void repeatCopiesFramesAndTheirEnds() throws Http2Exception {
    Frames.Batch unit = frames.windowUpdate(0, 1).windowUpdate(1, 1).take();
    Frames.Batch three = unit.repeat(3);
    assertEquals(6, three.frames());
    assertEquals(3 * unit.bytes.readableBytes(), three.bytes.readableBytes());
    assertEquals(2, three.framesWithin(unit.bytes.readableBytes()));
    read(three.bytes.duplicate());
    assertEquals(List.of("WINDOW_UPDATE 0 +1", "WINDOW_UPDATE 1 +1", "WINDOW_UPDATE 0 +1",
        "WINDOW_UPDATE 1 +1", "WINDOW_UPDATE 0 +1", "WINDOW_UPDATE 1 +1"), seen.frames);
    // The unit was copied, not consumed: it can be repeated again.
    assertEquals(0, unit.bytes.readerIndex());
    unit.bytes.release();
    three.bytes.release();
  }

  @Test
  public void headerBlockLeftOpenIsNotDeliveredUntilEndHeaders() throws Http2Exception {
    byte[] literal = frames.literalBlock(new DefaultHttp2Headers().add("x-flood", "aaaa"));
    frames.headersFragment(1, frames.headerBlock(1, Attack.echoRequest()), false);
    for (int i = 0; i < 3; i++) {
      frames.continuation(1, literal, false).continuation(1, new byte[0], false);
    }
    Frames.Batch open = frames.take();
    assertEquals(7, open.frames());
    read(open.bytes);
    assertEquals(List.of(), seen.frames);
    Frames.Batch end = frames.continuation(1, literal, true).take();
    read(end.bytes);
    assertEquals(List.of("HEADERS 1"), seen.frames);
    // Literal never-indexed fields: all four arrive, and no table entry was made for them.
    assertEquals(4, seen.headers.get(0).getAll("x-flood").size());
    assertArrayEquals(literal,
        frames.literalBlock(new DefaultHttp2Headers().add("x-flood", "aaaa")));
    open.bytes.release();
    end.bytes.release();
  }

  @Test
  public void hpackBombIsSmallOnTheWireAndHugeDecoded() throws Http2Exception {
    String value = "b".repeat(3000);
    Frames.Batch seed = frames.headers(1, Attack.echoRequest().add("x-bomb", value), true).take();
    Http2Headers bomb = Attack.echoRequest();
    for (int i = 0; i < 4096; i++) {
      bomb.add("x-bomb", value);
    }
    byte[] block = frames.headerBlock(3, bomb);
    assertTrue("encoded " + block.length + " bytes", block.length < 4200);
    assertArrayEquals("stable: every field indexed", block, frames.headerBlock(5, bomb));
    Frames.Batch twice = frames.headerBlockFrames(3, block, true)
        .headerBlockFrames(5, block, true).take();
    assertEquals(2, twice.frames());
    read(seed.bytes);
    read(twice.bytes);
    assertEquals(List.of("HEADERS 1 end", "HEADERS 3 end", "HEADERS 5 end"), seen.frames);
    assertEquals(4096, seen.headers.get(1).getAll("x-bomb").size());
    assertEquals(4096, seen.headers.get(2).getAll("x-bomb").size());
    seed.bytes.release();
    twice.bytes.release();
  }

  @Test
  public void longHeaderBlockIsSplitAtTheFrameSize() throws Http2Exception {
    // '~' has a 13-bit Huffman code, so the value goes out raw: 40,000 bytes.
    byte[] block = frames.literalBlock(
        new DefaultHttp2Headers().add("x-long", "~".repeat(40_000)));
    assertTrue(block.length > 2 * 16384);
    Frames.Batch b = frames.headerBlockFrames(7, block, false).take();
    assertEquals("HEADERS + 2 CONTINUATION of at most 16 KiB", 3, b.frames());
    read(b.bytes);
    assertEquals(List.of("HEADERS 7"), seen.frames);
    assertEquals("~".repeat(40_000), seen.headers.get(0).get("x-long").toString());
    b.bytes.release();
  }

  @Test
  public void dataAndPingCarryTheirPayloads() throws Http2Exception {
    Frames.Batch b = frames.data(1, Frames.grpcMessage(new byte[12]), true)
        .data(3, new byte[0], false).ping(false, 0xabcdL).take();
    read(b.bytes);
    assertEquals(List.of("DATA 1 17 end", "DATA 3 0", "PING abcd"), seen.frames);
    b.bytes.release();
  }

  private void read(ByteBuf bytes) throws Http2Exception {
    ByteBuf copy = Unpooled.copiedBuffer(bytes);
    try {
      reader.readFrame(ctx, copy, seen);
      assertEquals("every byte parsed", 0, copy.readableBytes());
    } finally {
      copy.release();
    }
  }
}
