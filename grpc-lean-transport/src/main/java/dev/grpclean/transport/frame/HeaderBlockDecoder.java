package dev.grpclean.transport.frame;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.ByteBuffer;

/**
 * Decodes HPACK header blocks (RFC 7541) with netty-codec-http2's {@link
 * DefaultHttp2HeadersDecoder}, which needs no channel, and maps its errors to ours.
 *
 * <p>What netty 4.1.130 does, and so what this class promises:
 * <ul>
 *   <li>A header list over {@code maxHeaderListSizeBytes}: netty keeps decoding the whole block
 *       (so the dynamic table stays in sync with the peer's encoder) and fails only at the end
 *       with a stream error. That becomes {@link Http2StreamError}; the connection lives on
 *       (RFC 9113 §10.5.1).
 *   <li>A malformed field (uppercase name, unknown or misplaced pseudo-header, connection-specific
 *       header, bad TE; RFC 9113 §8.2): likewise decoded to the end, then a stream error
 *       PROTOCOL_ERROR (§8.1.1).
 *   <li>Anything else (bad integer, bad index, bad Huffman, truncated block): the HPACK state is
 *       unknown, so a connection error COMPRESSION_ERROR (RFC 9113 §4.3).
 * </ul>
 *
 * <p>Hibernation: {@link #hibernate} writes an idle connection's dynamic table down as the bytes
 * of its entries ({@link HpackSnapshot}) and drops netty's decoder; the next header block (or
 * SETTINGS ack) rebuilds an identical decoder by feeding netty a block that re-inserts the entries,
 * so the peer cannot tell (RFC 7541 §2.3.2: the table is all the state there is).
 *
 * <p>Thread-compatible; one per connection, used in header-block order.
 */
public final class HeaderBlockDecoder {
  /** Bytes; the dynamic table size every peer assumes before SETTINGS (RFC 7541 §4.2). */
  private static final int DEFAULT_HEADER_TABLE_BYTES = 4096;

  /** Netty's decoder; null while hibernated. */
  private DefaultHttp2HeadersDecoder decoder;
  private final long maxHeaderListSizeBytes;
  private final int advertisedHeaderTableBytes;
  /** While hibernated: the table, our limit and the peer's chosen size; else null/unused. */
  private HpackSnapshot.Entry[] hibernatedTable;
  private long hibernatedMaxTableBytes;
  private long hibernatedCapacityBytes;

  /**
   * @param maxHeaderListSizeBytes the SETTINGS_MAX_HEADER_LIST_SIZE we advertise (RFC 9113
   *     §6.5.2: uncompressed name + value + 32 bytes per field)
   * @param maxHeaderTableSizeBytes the SETTINGS_HEADER_TABLE_SIZE we advertise. A value of at
   *     least 4096 applies at once; a smaller one only from {@link #onLocalSettingsAcked}, since
   *     until the peer has seen our SETTINGS its encoder may use the 4096-byte default
   *     (RFC 9113 §6.5.3, RFC 7541 §4.2)
   */
  public HeaderBlockDecoder(long maxHeaderListSizeBytes, int maxHeaderTableSizeBytes) {
    if (maxHeaderTableSizeBytes < 0) {
      throw new IllegalArgumentException("maxHeaderTableSizeBytes < 0");
    }
    // validateHeaders=true: RFC 9113 §8.2 checks; validateHeaderValues=false: gRPC metadata
    // values are checked by grpc-core, and value checks cost a pass over every byte.
    this.maxHeaderListSizeBytes = maxHeaderListSizeBytes;
    this.decoder = newNettyDecoder();
    this.advertisedHeaderTableBytes = maxHeaderTableSizeBytes;
    if (maxHeaderTableSizeBytes > DEFAULT_HEADER_TABLE_BYTES) {
      applyHeaderTableSize();
    }
  }

  /**
   * Applies an advertised SETTINGS_HEADER_TABLE_SIZE below 4096, once the peer acknowledged our
   * SETTINGS: the peer's next header block must then start with a table size update
   * (RFC 7541 §4.2). A no-op for larger values.
   */
  public void onLocalSettingsAcked() {
    wake();
    if (advertisedHeaderTableBytes < DEFAULT_HEADER_TABLE_BYTES
        && decoder.configuration().maxHeaderTableSize() != advertisedHeaderTableBytes) {
      applyHeaderTableSize();
    }
  }

  /**
   * Decodes one complete header block. Borrows {@code block} for the call; its position is not
   * moved.
   *
   * @throws Http2ConnectionError COMPRESSION_ERROR when the block is undecodable; the HPACK state
   *     is then unknown and the connection must close
   * @throws Http2StreamError when the decoded list exceeds maxHeaderListSize or a field is
   *     malformed; the HPACK state stayed consistent, so only {@code streamId} fails
   */
  public Http2Headers decode(int streamId, ByteBuffer block)
      throws Http2ConnectionError, Http2StreamError {
    wake();
    try {
      return decoder.decodeHeaders(streamId, Unpooled.wrappedBuffer(block.slice()));
    } catch (Http2Exception.StreamException e) {
      throw new Http2StreamError(
          e.streamId(), ErrorCode.forCode(e.error().code()), e.getMessage(), e);
    } catch (Http2Exception e) {
      // RFC 9113 §4.3: a field block decoding error is a connection error COMPRESSION_ERROR.
      throw new Http2ConnectionError(
          ErrorCode.COMPRESSION_ERROR, "HPACK decoding failed: " + e.getMessage(), e);
    }
  }

  private DefaultHttp2HeadersDecoder newNettyDecoder() {
    return new DefaultHttp2HeadersDecoder(true, false, maxHeaderListSizeBytes);
  }

  /**
   * Writes the dynamic table down as bytes and drops netty's decoder, if it can: not when the
   * peer owes a table size update, nor when netty's internals are not the ones this was built
   * for ({@link HpackInternals#AVAILABLE}). Returns whether it is hibernated now.
   */
  public boolean hibernate() {
    if (decoder == null) {
      return true;
    }
    if (!HpackInternals.AVAILABLE) {
      return false;
    }
    HpackInternals.DecoderTable table = HpackInternals.decoderTable(decoder);
    if (table == null) {
      return false;
    }
    HpackSnapshot.Entry[] snapshot = HpackSnapshot.of(table.fields);
    if (snapshot == null) {
      return false;
    }
    hibernatedTable = snapshot;
    hibernatedMaxTableBytes = table.maxTableBytes;
    hibernatedCapacityBytes = table.capacityBytes;
    decoder = null;
    return true;
  }

  /** Whether netty's decoder is dropped (tests and stats). */
  public boolean isHibernated() {
    return decoder == null;
  }

  /** Bytes the hibernated table holds; 0 while awake. */
  public int hibernatedBytes() {
    return decoder == null ? HpackSnapshot.sizeBytes(hibernatedTable) : 0;
  }

  /** Rebuilds netty's decoder from the snapshot, if hibernated. */
  private void wake() {
    if (decoder != null) {
      return;
    }
    DefaultHttp2HeadersDecoder d = newNettyDecoder();
    try {
      if (hibernatedMaxTableBytes != DEFAULT_HEADER_TABLE_BYTES) {
        d.configuration().maxHeaderTableSize(hibernatedMaxTableBytes);
      }
      byte[] block = HpackSnapshot.toRebuildBlock(hibernatedTable, hibernatedCapacityBytes);
      try {
        d.decodeHeaders(1, Unpooled.wrappedBuffer(block));
      } catch (Http2Exception.StreamException expected) {
        // Header validation (pseudo-headers after regular ones, say) or the list size limit
        // fails the made-up stream only after netty has inserted every entry, which is all
        // this block is for.
      }
    } catch (Http2Exception e) {
      throw new IllegalStateException("cannot rebuild the hibernated HPACK decoder", e);
    }
    HpackInternals.DecoderTable rebuilt = HpackInternals.decoderTable(d);
    if (rebuilt == null || rebuilt.capacityBytes != hibernatedCapacityBytes
        || !sameEntries(rebuilt.fields, hibernatedTable)) {
      throw new IllegalStateException("the rebuilt HPACK decoder differs from the hibernated one");
    }
    decoder = d;
    hibernatedTable = null;
  }

  private static boolean sameEntries(CharSequence[] newestFirst, HpackSnapshot.Entry[] snapshot) {
    CharSequence[] oldestFirst = HpackSnapshot.fieldsOldestFirst(snapshot);
    if (newestFirst.length != oldestFirst.length) {
      return false;
    }
    for (int i = 0, n = newestFirst.length; i < n; i += 2) {
      if (!io.netty.util.AsciiString.contentEquals(newestFirst[i], oldestFirst[n - 2 - i])
          || !io.netty.util.AsciiString.contentEquals(
              newestFirst[i + 1], oldestFirst[n - 1 - i])) {
        return false;
      }
    }
    return true;
  }

  private void applyHeaderTableSize() {
    try {
      decoder.configuration().maxHeaderTableSize(advertisedHeaderTableBytes);
    } catch (Http2Exception e) {
      throw new IllegalArgumentException(
          "bad header table size " + advertisedHeaderTableBytes, e);
    }
  }
}
