package dev.grpclean.transport.frame;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Hibernation must be invisible: thousands of idle/wake cycles with the dynamic tables empty,
 * full and after size updates, and every block compared with coders that never hibernate (a
 * plain netty {@link DefaultHttp2HeadersDecoder} as the reference decoder; a second
 * {@link HeaderBlockEncoder} that never sleeps as the reference encoder, whose blocks must be
 * byte-identical).
 */
public class HpackHibernationTest {
  @Rule public final Timeout timeout = Timeout.seconds(120);

  private static final int STEPS = 6000;
  private static final long LIST_LIMIT = 8192;
  private static final String[] NAMES = {"content-type", "grpc-accept-encoding", "user-agent",
      "grpc-timeout", "te", "x-trace", "x-user", "grpc-encoding", "x-big", "accept"};
  /** Peer table sizes: empty, tiny, ours, the default, more than we allow. */
  private static final long[] PEER_TABLE_SIZES = {0, 64, 200, 1024, 4096};

  /** What a run covered, so the test fails if a state was never reached. */
  private static final class Coverage {
    int hibernations;
    int emptyTable;
    int fullTable;
    int afterSizeUpdate;
    int refused;
  }

  @Test
  public void decoderHibernationIsInvisibleToThePeer() throws Exception {
    Coverage total = new Coverage();
    for (long seed = 1; seed <= 3; seed++) {
      runDecoder(new Random(seed), 4096, total);
      runDecoder(new Random(seed + 100), 1024, total); // we advertise less than the default
    }
    assertTrue("hibernated " + total.hibernations, total.hibernations > 5000);
    assertTrue("empty " + total.emptyTable, total.emptyTable > 50);
    assertTrue("full " + total.fullTable, total.fullTable > 50);
    assertTrue("after a size update " + total.afterSizeUpdate, total.afterSizeUpdate > 50);
    assertTrue("refused while an update is owed " + total.refused, total.refused > 0);
  }

  private void runDecoder(Random random, int advertised, Coverage cov) throws Exception {
    HeaderBlockDecoder ours = new HeaderBlockDecoder(LIST_LIMIT, advertised);
    DefaultHttp2HeadersDecoder reference = new DefaultHttp2HeadersDecoder(true, false, LIST_LIMIT);
    DefaultHttp2HeadersEncoder peer = new DefaultHttp2HeadersEncoder(
        Http2HeadersEncoder.NEVER_SENSITIVE, false);
    ByteBuf block = Unpooled.buffer();
    boolean acked = false;
    boolean sizeChanged = false;
    for (int step = 0; step < STEPS; step++) {
      if (!acked && step == 50) {
        // Our SETTINGS were acknowledged: a smaller advertised table now applies, and the
        // peer's next block must start with a size update (a state hibernation must refuse).
        acked = true;
        ours.onLocalSettingsAcked();
        if (advertised < 4096) {
          reference.configuration().maxHeaderTableSize(advertised);
          peer.configuration().maxHeaderTableSize(advertised);
          assertFalse("the peer owes a size update", ours.hibernate());
          cov.refused++;
        }
      }
      if (acked && random.nextInt(40) == 0) {
        long size = Math.min(advertised, PEER_TABLE_SIZES[random.nextInt(PEER_TABLE_SIZES.length)]);
        peer.configuration().maxHeaderTableSize(size);
        sizeChanged = true;
      }
      if (random.nextInt(3) != 0) {
        HpackInternals.DecoderTable t = HpackInternals.decoderTable(reference);
        if (ours.hibernate()) {
          assertTrue(ours.isHibernated());
          // The snapshot holds exactly the reference decoder's entries' bytes.
          assertEquals(HpackSnapshot.sizeBytes(HpackSnapshot.of(t.fields)), ours.hibernatedBytes());
          cov.hibernations++;
          long used = tableBytes(t.fields);
          if (t.fields.length == 0) {
            cov.emptyTable++;
          } else if (used > t.capacityBytes - 300) {
            cov.fullTable++;
          }
          if (sizeChanged) {
            cov.afterSizeUpdate++;
            sizeChanged = false;
          }
        }
      }
      block.clear();
      peer.encodeHeaders(1 + 2 * step, randomRequest(random), block);
      byte[] bytes = new byte[block.readableBytes()];
      block.getBytes(0, bytes);
      String expected;
      try {
        expected = render(reference.decodeHeaders(1 + 2 * step, Unpooled.wrappedBuffer(bytes)));
      } catch (Http2Exception.StreamException e) {
        expected = "stream error";
      }
      String actual;
      try {
        actual = render(ours.decode(1 + 2 * step, ByteBuffer.wrap(bytes)));
      } catch (Http2StreamError e) {
        actual = "stream error";
      }
      assertEquals("step " + step, expected, actual);
      assertFalse(ours.isHibernated());
    }
  }

  @Test
  public void encoderHibernationProducesIdenticalBlocks() throws Exception {
    int hibernations = 0;
    int full = 0;
    int empty = 0;
    int afterUpdate = 0;
    for (long seed = 1; seed <= 3; seed++) {
      Random random = new Random(seed);
      HeaderBlockEncoder ours = new HeaderBlockEncoder();
      HeaderBlockEncoder reference = new HeaderBlockEncoder();
      DefaultHttp2HeadersDecoder peer = new DefaultHttp2HeadersDecoder(false, false, 1 << 20);
      ByteBuf a = Unpooled.buffer();
      ByteBuf b = Unpooled.buffer();
      boolean sizeChanged = false;
      for (int step = 0; step < STEPS; step++) {
        if (random.nextInt(40) == 0) {
          // The peer's SETTINGS_HEADER_TABLE_SIZE (our encoder caps it at 1024).
          long size = PEER_TABLE_SIZES[random.nextInt(PEER_TABLE_SIZES.length)];
          ours.setMaxHeaderTableSize(size);
          reference.setMaxHeaderTableSize(size);
          sizeChanged = true;
        }
        if (random.nextInt(3) != 0 && ours.hibernate()) {
          hibernations++;
          int held = ours.hibernatedBytes();
          empty += held == 0 ? 1 : 0;
          full += held > 400 ? 1 : 0;
          if (sizeChanged) {
            afterUpdate++;
            sizeChanged = false;
          }
        }
        Http2Headers headers = randomResponse(random);
        a.clear();
        b.clear();
        ours.encode(2 * step + 1, headers, a);
        reference.encode(2 * step + 1, headers, b);
        assertArrayEquals("step " + step, bytes(b), bytes(a));
        assertEquals(render(headers),
            render(peer.decodeHeaders(2 * step + 1, Unpooled.wrappedBuffer(bytes(a)))));
      }
    }
    assertTrue("hibernated " + hibernations, hibernations > 5000);
    assertTrue("empty " + empty, empty > 50);
    assertTrue("full " + full, full > 50);
    assertTrue("after a size update " + afterUpdate, afterUpdate > 50);
  }

  @Test
  public void pendingTableSizeUpdateIsNotHibernated() throws Exception {
    HeaderBlockEncoder encoder = new HeaderBlockEncoder();
    assertFalse("the constructor's 1024-byte update is owed", encoder.hibernate());
    ByteBuf out = Unpooled.buffer();
    encoder.encode(1, randomResponse(new Random(7)), out);
    assertTrue(encoder.hibernate());
    assertTrue(encoder.isHibernated());
    encoder.setMaxHeaderTableSize(100); // wakes, then owes an update
    assertFalse(encoder.isHibernated());
    assertFalse(encoder.hibernate());
  }

  @Test
  public void snapshotRoundTripsEveryOctet() {
    StringBuilder all = new StringBuilder();
    for (char c = 0; c < 256; c++) {
      all.append(c);
    }
    CharSequence[] fields = {"x-a", all.toString(), "", "", "x-b", "v"};
    HpackSnapshot.Entry[] s = HpackSnapshot.of(fields);
    io.netty.util.AsciiString[] back = HpackSnapshot.fieldsOldestFirst(s);
    assertEquals(3, s.length);
    assertEquals("x-b", back[0].toString());
    assertEquals("", back[2].toString());
    assertEquals(all.toString(), back[5].toString());
    assertNull(HpackSnapshot.of(new CharSequence[] {"x", "v".repeat(70_000)}));
    // Equal entries of different tables are one object (interned).
    HpackSnapshot.Entry[] other = HpackSnapshot.of(new CharSequence[] {"x-b", "v", "x-c", "w"});
    assertSame(s[0], other[1]);
  }

  /**
   * Equal tables written down by different connections are one array (connections with the same
   * peers hold none of their own); a different table, or the same entries in another order, is
   * another; a table pushed out of the recent ones by 64 others stays intact for its holders.
   */
  @Test
  public void equalTablesShareOneArray() {
    HpackSnapshot.Entry[] a = HpackSnapshot.of(new CharSequence[] {
        "x-share", "1", new StringBuilder("user-agent"), "lean"});
    HpackSnapshot.Entry[] b = HpackSnapshot.of(new CharSequence[] {
        new StringBuilder("x-share"), "1", "user-agent", new StringBuilder("lean")});
    assertSame(a, b);
    HpackSnapshot.Entry[] reordered = HpackSnapshot.of(new CharSequence[] {
        "user-agent", "lean", "x-share", "1"});
    assertFalse(a == reordered);
    assertSame(a[0], reordered[1]);
    HpackSnapshot.Entry[] longer = HpackSnapshot.of(new CharSequence[] {
        "x-share", "1", "user-agent", "lean", "x-more", "2"});
    assertFalse(a == longer);
    for (int i = 0; i < 64; i++) {
      HpackSnapshot.of(new CharSequence[] {"x-evict", Integer.toString(i)});
    }
    HpackSnapshot.Entry[] again = HpackSnapshot.of(new CharSequence[] {
        "x-share", "1", "user-agent", "lean"});
    assertFalse("evicted: a new array", a == again);
    assertArrayEquals(a, again);
    assertEquals("user-agent", HpackSnapshot.fieldsOldestFirst(a)[0].toString());
    assertEquals("1", HpackSnapshot.fieldsOldestFirst(a)[3].toString());
  }

  private static Http2Headers randomRequest(Random r) {
    Http2Headers h = new DefaultHttp2Headers(false).method("POST").scheme("http")
        .path("/svc/M" + r.nextInt(30)).authority("host" + r.nextInt(3) + ":443");
    addRandom(r, h);
    return h;
  }

  private static Http2Headers randomResponse(Random r) {
    Http2Headers h = new DefaultHttp2Headers(false).status(r.nextInt(8) == 0 ? "503" : "200");
    addRandom(r, h);
    return h;
  }

  private static void addRandom(Random r, Http2Headers h) {
    int n = r.nextInt(6);
    for (int i = 0; i < n; i++) {
      String name = NAMES[r.nextInt(NAMES.length)];
      if (r.nextInt(50) == 0) {
        name = "X-Upper"; // invalid (RFC 9113 §8.2.1): a stream error, the table still updates
      }
      int len = r.nextInt(20) == 0 ? 500 + r.nextInt(3000) : r.nextInt(40);
      StringBuilder v = new StringBuilder(len);
      for (int k = 0; k < len; k++) {
        v.append((char) ('a' + r.nextInt(r.nextBoolean() ? 3 : 26)));
      }
      h.add(name, v.toString());
    }
  }

  private static long tableBytes(CharSequence[] fields) {
    long n = 0;
    for (int i = 0; i < fields.length; i += 2) {
      n += fields[i].length() + fields[i + 1].length() + 32;
    }
    return n;
  }

  private static byte[] bytes(ByteBuf buf) {
    byte[] out = new byte[buf.readableBytes()];
    buf.getBytes(buf.readerIndex(), out);
    return out;
  }

  private static String render(Http2Headers headers) {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<CharSequence, CharSequence> e : headers) {
      sb.append(e.getKey()).append(": ").append(e.getValue()).append('\n');
    }
    return sb.toString();
  }
}
