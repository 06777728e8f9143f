package dev.grpclean.transport.frame;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import java.util.Map;

/**
 * Encodes header lists into HPACK blocks (RFC 7541) with netty-codec-http2's {@link
 * DefaultHttp2HeadersEncoder}, which needs no channel, and maps its errors to ours.
 *
 * <p>Two memory choices: the dynamic table is capped at 4096 bytes whatever the peer allows
 * (an encoder may use any size up to the peer's limit, RFC 7541 §4.2), so a peer advertising a
 * huge table cannot make us keep more headers per connection; and netty's 256-byte buffer for a
 * pending table size update is released after the update is written, not kept per connection.
 *
 * <p>Hibernation: {@link #hibernate} writes an idle connection's dynamic table down as the bytes
 * of its entries ({@link HpackSnapshot}) and drops netty's encoder (table, hash index, Huffman
 * coder); the next block rebuilds it by encoding the entries again, oldest first, into a scratch
 * buffer. Netty inserts an entry only when it is in neither table, so an encoder's table never
 * holds duplicates or static-table fields, and the replay inserts each entry exactly once, in the
 * same order, with no eviction: the peer's decoder, which mirrors the table, cannot tell.
 *
 * <p>Thread-compatible; one per connection, used in header-block order.
 */
public final class HeaderBlockEncoder {
  /**
   * Bytes; our dynamic table cap. 1 KiB holds what gRPC repeats on every call (content-type,
   * grpc-accept-encoding, grpc-status, a few paths); the RFC 7541 default of 4 KiB would let every
   * idle connection keep up to about twice that in decoded strings on the peer and here.
   */
  static final long MAX_TABLE_BYTES = 1024;
  /**
   * Hash buckets of netty's encoder index (a power of two). Netty's default of 64 costs ~0.5 KiB
   * per connection for two arrays; a 1 KiB table holds at most ~20 entries, so 16 buckets do.
   */
  private static final int INDEX_BUCKETS = 16;
  /** Bytes charged per field on top of name and value (RFC 7541 §4.1, RFC 9113 §6.5.2). */
  private static final long FIELD_OVERHEAD_BYTES = 32;

  /** Netty's encoder; null while hibernated. */
  private DefaultHttp2HeadersEncoder encoder = newNettyEncoder();
  private long maxHeaderListSize = Long.MAX_VALUE;
  /** While hibernated: the table and its capacity; else null/unused. */
  private HpackSnapshot.Entry[] hibernatedTable;
  private long hibernatedCapacityBytes;
  /** Whether netty holds a table size update (and its buffer) for the next block. */
  private boolean tableSizeUpdatePending;

  public HeaderBlockEncoder() {
    try {
      // Below the 4096-byte default the peer assumes: the first block announces it (§6.3).
      setMaxHeaderTableSize(MAX_TABLE_BYTES);
    } catch (Http2ConnectionError e) {
      throw new AssertionError(e);
    }
  }

  /** Applies the peer's SETTINGS_HEADER_TABLE_SIZE, capped at {@link #MAX_TABLE_BYTES}. */
  public void setMaxHeaderTableSize(long bytes) throws Http2ConnectionError {
    wake();
    long size = Math.min(bytes, MAX_TABLE_BYTES);
    if (size == encoder.configuration().maxHeaderTableSize()) {
      return; // no change to signal
    }
    try {
      encoder.configuration().maxHeaderTableSize(size);
      tableSizeUpdatePending = true;
    } catch (Http2Exception e) {
      throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR,
          "bad SETTINGS_HEADER_TABLE_SIZE " + bytes + ": " + e.getMessage(), e);
    }
  }

  /** Applies the peer's SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2, advisory). */
  public void setMaxHeaderListSize(long bytes) throws Http2ConnectionError {
    wake();
    try {
      encoder.configuration().maxHeaderListSize(bytes);
      maxHeaderListSize = bytes;
    } catch (Http2Exception e) {
      throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR,
          "bad SETTINGS_MAX_HEADER_LIST_SIZE " + bytes + ": " + e.getMessage(), e);
    }
  }

  /**
   * Encodes {@code headers} into {@code out} (a heap ByteBuf the caller owns and clears).
   *
   * @throws Http2StreamError when the list exceeds the peer's SETTINGS_MAX_HEADER_LIST_SIZE;
   *     nothing was written and the HPACK state is unchanged
   * @throws Http2ConnectionError COMPRESSION_ERROR when encoding failed midway; the HPACK state
   *     is then unknown
   */
  public void encode(int streamId, Http2Headers headers, ByteBuf out)
      throws Http2ConnectionError, Http2StreamError {
    // Checked here, before netty writes a pending table size update into `out`: netty checks
    // only after writing it, and a caller discarding `out` on a stream error would lose the
    // update and desynchronize the peer's decoder (RFC 7541 §4.2).
    checkListSize(streamId, headers);
    wake();
    try {
      encoder.encodeHeaders(streamId, headers, out);
    } catch (Http2Exception.StreamException e) {
      throw new Http2StreamError(
          streamId, ErrorCode.forCode(e.error().code()), e.getMessage(), e);
    } catch (Http2Exception e) {
      throw new Http2ConnectionError(
          ErrorCode.COMPRESSION_ERROR, "HPACK encoding failed: " + e.getMessage(), e);
    }
    if (tableSizeUpdatePending) {
      tableSizeUpdatePending = false;
      encoder.close(); // releases the update buffer; netty re-creates it on the next change
    }
  }

  private static DefaultHttp2HeadersEncoder newNettyEncoder() {
    return new DefaultHttp2HeadersEncoder(NOT_INDEXED, false, INDEX_BUCKETS);
  }

  private static final io.netty.util.AsciiString GRPC_TIMEOUT =
      io.netty.util.AsciiString.cached("grpc-timeout");

  /**
   * Fields sent as literals that neither table keeps (netty's "sensitive" path, RFC 7541
   * §6.2.3): {@code grpc-timeout}, whose value is the call's remaining time and so differs on
   * nearly every call. Indexed, each call would insert a new entry on both ends that no later
   * block can use, pushing out useful ones, and an idle connection's table would end with one
   * entry of its own, so that no two connections' tables could be shared while they hibernate
   * ({@code HpackSnapshot}). Nothing else changes on the wire.
   */
  private static final Http2HeadersEncoder.SensitivityDetector NOT_INDEXED =
      (name, value) -> GRPC_TIMEOUT.contentEqualsIgnoreCase(name);

  /**
   * Writes the dynamic table down as bytes and drops netty's encoder, if it can: not while a
   * table size update waits for the next block, nor when netty's internals are not the ones this
   * was built for ({@link HpackInternals#AVAILABLE}). Returns whether it is hibernated now.
   */
  public boolean hibernate() {
    if (encoder == null) {
      return true;
    }
    if (tableSizeUpdatePending || !HpackInternals.AVAILABLE) {
      return false;
    }
    CharSequence[] fields = HpackInternals.encoderTable(encoder);
    HpackSnapshot.Entry[] snapshot = fields == null ? null : HpackSnapshot.of(fields);
    if (snapshot == null) {
      return false;
    }
    hibernatedTable = snapshot;
    hibernatedCapacityBytes = encoder.configuration().maxHeaderTableSize();
    encoder = null;
    return true;
  }

  /** Whether netty's encoder is dropped (tests and stats). */
  public boolean isHibernated() {
    return encoder == null;
  }

  /** Bytes the hibernated table holds; 0 while awake. */
  public int hibernatedBytes() {
    return encoder == null ? HpackSnapshot.sizeBytes(hibernatedTable) : 0;
  }

  /** Rebuilds netty's encoder from the snapshot, if hibernated. */
  private void wake() throws Http2ConnectionError {
    if (encoder != null) {
      return;
    }
    DefaultHttp2HeadersEncoder e = newNettyEncoder();
    io.netty.buffer.ByteBuf scratch =
        io.netty.buffer.Unpooled.buffer(16 + HpackSnapshot.sizeBytes(hibernatedTable) * 2);
    try {
      // The peer already has this size: the update netty queues for it is written into the
      // scratch buffer by the first replayed entry, or released by close() below.
      e.configuration().maxHeaderTableSize(hibernatedCapacityBytes);
      io.netty.util.AsciiString[] fields = HpackSnapshot.fieldsOldestFirst(hibernatedTable);
      for (int i = 0; i < fields.length; i += 2) {
        scratch.clear();
        e.encodeHeaders(1,
            new io.netty.handler.codec.http2.DefaultHttp2Headers(false, 1)
                .add(fields[i], fields[i + 1]), scratch);
      }
      e.close();
      if (maxHeaderListSize != Long.MAX_VALUE) {
        e.configuration().maxHeaderListSize(maxHeaderListSize);
      }
    } catch (Http2Exception ex) {
      throw new Http2ConnectionError(ErrorCode.COMPRESSION_ERROR,
          "cannot rebuild the hibernated HPACK encoder: " + ex.getMessage(), ex);
    } finally {
      scratch.release();
    }
    CharSequence[] rebuilt = HpackInternals.encoderTable(e);
    if (rebuilt == null || rebuilt.length != 2 * hibernatedTable.length) {
      throw new Http2ConnectionError(ErrorCode.INTERNAL_ERROR,
          "the rebuilt HPACK encoder differs from the hibernated one");
    }
    encoder = e;
    hibernatedTable = null;
  }

  private void checkListSize(int streamId, Http2Headers headers) throws Http2StreamError {
    if (maxHeaderListSize == Long.MAX_VALUE) {
      return;
    }
    long size = 0;
    for (Map.Entry<CharSequence, CharSequence> e : headers) {
      size += e.getKey().length() + e.getValue().length() + FIELD_OVERHEAD_BYTES;
      if (size > maxHeaderListSize) {
        throw new Http2StreamError(streamId, ErrorCode.PROTOCOL_ERROR,
            "header list exceeds the peer's SETTINGS_MAX_HEADER_LIST_SIZE of "
                + maxHeaderListSize + " bytes (RFC 9113 §6.5.2)");
      }
    }
  }
}
