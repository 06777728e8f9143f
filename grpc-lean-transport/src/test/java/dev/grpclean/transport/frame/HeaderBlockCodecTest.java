package dev.grpclean.transport.frame;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.ByteBuffer;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** HPACK through netty without a channel: RFC 7541 vectors, round trips, error mapping. */
public class HeaderBlockCodecTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private final HeaderBlockEncoder encoder = new HeaderBlockEncoder();
  private final HeaderBlockDecoder decoder = new HeaderBlockDecoder(8192, 4096);
  private final ByteBuf out = Unpooled.buffer();

  private static String render(Http2Headers headers) {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<CharSequence, CharSequence> e : headers) {
      sb.append(e.getKey()).append(": ").append(e.getValue()).append('\n');
    }
    return sb.toString();
  }

  private ByteBuffer encode(int streamId, Http2Headers headers) throws Exception {
    out.clear();
    encoder.encode(streamId, headers, out);
    byte[] block = new byte[out.readableBytes()];
    out.getBytes(out.readerIndex(), block);
    return ByteBuffer.wrap(block);
  }

  private static Http2Headers request(String... extra) {
    Http2Headers h = new DefaultHttp2Headers(false).method("POST").scheme("http")
        .path("/pkg.Service/Method").authority("localhost:8080");
    for (int i = 0; i < extra.length; i += 2) {
      h.add(extra[i], extra[i + 1]);
    }
    return h;
  }

  @Test
  public void rfc7541AppendixC3VectorsShouldDecode() throws Exception {
    // C.3.1
    assertEquals(":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n",
        render(decoder.decode(1, Hex.buffer("828684410f7777772e6578616d706c652e636f6d"))));
    // C.3.2 and C.3.3 use the dynamic table C.3.1 filled.
    assertEquals(":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n"
            + "cache-control: no-cache\n",
        render(decoder.decode(3, Hex.buffer("828684be58086e6f2d6361636865"))));
    assertEquals(":method: GET\n:scheme: https\n:path: /index.html\n"
            + ":authority: www.example.com\ncustom-key: custom-value\n",
        render(decoder.decode(5, Hex.buffer(
            "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"))));
  }

  @Test
  public void rfc7541AppendixC4HuffmanVectorShouldDecode() throws Exception {
    assertEquals(":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n",
        render(decoder.decode(1, Hex.buffer("828684418cf1e3c2e5f23a6ba0ab90f4ff"))));
  }

  @Test
  public void decodeShouldNotMoveTheBlockPosition() throws Exception {
    ByteBuffer block = Hex.buffer("828684");
    decoder.decode(1, block);
    assertEquals(0, block.position());
  }

  @Test
  public void encodedHeadersShouldRoundTripRepeatedly() throws Exception {
    Http2Headers headers = request("grpc-timeout", "1S", "te", "trailers", "x-bin", "abc");
    int firstSize = 0;
    for (int i = 0; i < 3; i++) {
      ByteBuffer block = encode(1 + 2 * i, headers);
      if (i == 0) {
        firstSize = block.remaining();
      } else {
        assertTrue("the dynamic table made later blocks smaller", block.remaining() < firstSize);
      }
      assertEquals(render(headers), render(decoder.decode(1 + 2 * i, block)));
    }
  }

  /**
   * grpc-timeout goes out as a never-indexed literal (RFC 7541 §6.2.3): the same value twice is
   * the same bytes twice (indexed, the second would be one byte), it decodes, and neither table
   * keeps it, so a table after calls with timeouts is the table after calls without.
   */
  @Test
  public void grpcTimeoutIsNeverIndexed() throws Exception {
    Http2Headers timeoutOnly = new DefaultHttp2Headers(false).add("grpc-timeout", "2999876u");
    // The first block also carries the encoder's table size update (§6.3).
    assertEquals(render(timeoutOnly), render(decoder.decode(1, encode(1, timeoutOnly))));
    ByteBuffer first = encode(3, timeoutOnly);
    ByteBuffer second = encode(5, timeoutOnly);
    assertEquals(first, second);
    assertEquals(0x10, first.get(0) & 0xF0); // 0001xxxx: literal never indexed
    assertTrue(first.remaining() > 10);
    assertEquals(render(timeoutOnly), render(decoder.decode(3, first)));
    assertEquals(render(timeoutOnly), render(decoder.decode(5, second)));
    assertTrue(encoder.hibernate());
    assertTrue(decoder.hibernate());
    assertEquals("nothing entered either table", 0, encoder.hibernatedBytes());
    assertEquals(0, decoder.hibernatedBytes());
  }

  @Test
  public void headerListOverLimitShouldBeStreamErrorAndKeepTablesInSync() throws Exception {
    HeaderBlockDecoder small = new HeaderBlockDecoder(300, 4096);
    ByteBuffer big = encode(1, request("x-big", "a".repeat(300), "x-small", "v"));
    Http2StreamError e = assertThrows(Http2StreamError.class, () -> small.decode(1, big));
    assertEquals(1, e.streamId());
    assertEquals(ErrorCode.PROTOCOL_ERROR, e.code());
    // The next block refers to entries the failed block inserted (x-small is now index 62):
    // decoding it right proves the decoder's dynamic table stayed in sync with the encoder's.
    Http2Headers next = request("x-small", "v");
    ByteBuffer block = encode(3, next);
    assertTrue("uses indexed entries: " + block.remaining(), block.remaining() <= 6);
    assertEquals(render(next), render(small.decode(3, block)));
  }

  @Test
  public void malformedHeadersShouldBeStreamErrorsAndKeepTablesInSync() throws Exception {
    String[][] bad = {{"X-Upper", "v"}, {"connection", "close"}, {"te", "gzip"}};
    int streamId = 1;
    for (String[] header : bad) {
      ByteBuffer block = encode(streamId, request(header[0], header[1]));
      final int id = streamId;
      Http2StreamError e = assertThrows(Http2StreamError.class, () -> decoder.decode(id, block));
      assertEquals(header[0], ErrorCode.PROTOCOL_ERROR, e.code());
      assertEquals(streamId, e.streamId());
      streamId += 2;
      Http2Headers good = request("x-after", header[0]);
      assertEquals(render(good), render(decoder.decode(streamId, encode(streamId, good))));
      streamId += 2;
    }
  }

  @Test
  public void badPseudoHeaderShouldBeStreamError() throws Exception {
    Http2StreamError e = assertThrows(Http2StreamError.class,
        () -> decoder.decode(1, Hex.buffer("0005 3a62616420 0178"))); // ":bad: x"
    assertEquals(ErrorCode.PROTOCOL_ERROR, e.code());
  }

  @Test
  public void undecodableBlocksShouldBeCompressionErrors() {
    String[] blocks = {
      "80", // index 0 is illegal (RFC 7541 §6.1)
      "ff", // truncated integer
      "c0", // dynamic table index 64 that does not exist
      "410f7777", // truncated literal
      "3fe21f", // table size update above the 4096 maximum
    };
    for (String hex : blocks) {
      Http2ConnectionError e = assertThrows(hex, Http2ConnectionError.class,
          () -> new HeaderBlockDecoder(8192, 4096).decode(1, Hex.buffer(hex)));
      assertEquals(hex, ErrorCode.COMPRESSION_ERROR, e.code());
    }
  }

  @Test
  public void encoderShouldRefuseListOverPeerLimitWithoutWriting() throws Exception {
    encoder.setMaxHeaderTableSize(0); // a pending table size update must survive the failure
    encoder.setMaxHeaderListSize(200);
    out.clear();
    Http2StreamError e = assertThrows(Http2StreamError.class,
        () -> encoder.encode(5, request("x-big", "a".repeat(200)), out));
    assertEquals(5, e.streamId());
    assertEquals(0, out.writerIndex());
    ByteBuffer block = encode(7, request());
    // The block opens with the pending size updates (RFC 7541 §4.2): the constructor's cap,
    // then 0; the last one must be 0 (0x20), right before the first field.
    String hex = Hex.of(block);
    assertTrue(hex, hex.startsWith("3fe107") || hex.startsWith("20"));
    assertTrue(hex, hex.startsWith("3fe10720") || hex.startsWith("20"));
    assertEquals(render(request()), render(decoder.decode(7, block)));
  }

  @Test
  public void encoderTableSizeShouldBeCappedAndSignalled() throws Exception {
    encoder.setMaxHeaderTableSize(1L << 30); // capped at 1024: no change beyond the initial cap
    ByteBuffer first = encode(1, request());
    assertEquals("the first block announces the 1024-byte cap (RFC 7541 §6.3)", "3fe107",
        Hex.of(first).substring(0, 6));
    ByteBuffer again = encode(2, request());
    assertTrue("nothing more to signal", (again.get(0) & 0xe0) != 0x20);
    assertEquals(render(request()), render(decoder.decode(1, first)));
    assertEquals(render(request()), render(decoder.decode(2, again)));
    encoder.setMaxHeaderTableSize(100);
    ByteBuffer second = encode(3, request());
    assertEquals("table size update 100 (RFC 7541 §6.3)", "3f45", Hex.of(second).substring(0, 4));
    assertEquals(render(request()), render(decoder.decode(3, second)));
  }

  @Test
  public void smallAdvertisedTableShouldApplyOnlyAfterAck() throws Exception {
    HeaderBlockDecoder zero = new HeaderBlockDecoder(8192, 0);
    // Before the peer saw our SETTINGS it may use the 4096-byte default table.
    ByteBuffer early = encode(1, request("x-a", "b"));
    assertEquals(render(request("x-a", "b")), render(zero.decode(1, early)));
    zero.onLocalSettingsAcked();
    encoder.setMaxHeaderTableSize(0); // the peer's encoder reacts to our SETTINGS
    ByteBuffer late = encode(3, request("x-a", "b"));
    assertEquals(render(request("x-a", "b")), render(zero.decode(3, late)));
    // A block without the required table size update is now a compression error.
    HeaderBlockDecoder strict = new HeaderBlockDecoder(8192, 0);
    strict.onLocalSettingsAcked();
    Http2ConnectionError e =
        assertThrows(Http2ConnectionError.class, () -> strict.decode(1, Hex.buffer("82")));
    assertEquals(ErrorCode.COMPRESSION_ERROR, e.code());
  }

  @Test
  public void invalidPeerListSizeShouldBeConnectionError() {
    assertThrows(Http2ConnectionError.class, () -> encoder.setMaxHeaderListSize(-1));
  }
}
