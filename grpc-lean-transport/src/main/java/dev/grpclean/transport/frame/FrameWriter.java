package dev.grpclean.transport.frame;

import java.nio.ByteBuffer;

/**
 * Writes HTTP/2 frames (RFC 9113 §4.1, §6) into a caller-provided buffer at its position,
 * advancing it. The caller guarantees {@code dst.remaining()} is enough: use the {@code *Bytes}
 * helpers for variable-size frames; fixed-size ones are {@link FrameType#FRAME_HEADER_BYTES} plus
 * 0 (SETTINGS ACK), 4 (WINDOW_UPDATE, RST_STREAM) or 8 (PING). Multi-byte fields are written
 * big-endian whatever {@code dst}'s byte order.
 *
 * <p>Stateless; thread-safe.
 */
public final class FrameWriter {
  private FrameWriter() {}

  /** Writes a 9-byte frame header; the caller writes the {@code payloadLength} bytes after it. */
  public static void writeFrameHeader(
      ByteBuffer dst, int payloadLength, byte type, byte flags, int streamId) {
    if (payloadLength < 0 || payloadLength > FrameType.MAX_ALLOWED_FRAME_SIZE) {
      throw new IllegalArgumentException("payload length out of range: " + payloadLength);
    }
    dst.put((byte) (payloadLength >>> 16));
    dst.put((byte) (payloadLength >>> 8));
    dst.put((byte) payloadLength);
    dst.put(type);
    dst.put(flags);
    putInt(dst, streamId & 0x7FFF_FFFF); // RFC 9113 §4.1: the reserved bit is sent as 0
  }

  /** Writes a DATA frame header without padding; the caller then copies the payload. */
  public static void writeDataHeader(
      ByteBuffer dst, int streamId, int payloadLength, boolean endStream) {
    writeFrameHeader(dst, payloadLength, FrameType.DATA,
        endStream ? FrameType.END_STREAM : 0, streamId);
  }

  /** Writes a SETTINGS frame with every set setting, in id order (RFC 9113 §6.5.1). */
  public static void writeSettings(ByteBuffer dst, Settings s) {
    writeFrameHeader(dst, 6 * s.count(), FrameType.SETTINGS, (byte) 0, 0);
    for (int id = 1; id <= Settings.MAX_ID; id++) {
      if (s.isSet(id)) {
        dst.put((byte) (id >>> 8));
        dst.put((byte) id);
        putInt(dst, (int) s.get(id));
      }
    }
  }

  /** Bytes {@link #writeSettings} writes for {@code s}. */
  public static int settingsBytes(Settings s) {
    return FrameType.FRAME_HEADER_BYTES + 6 * s.count();
  }

  public static void writeSettingsAck(ByteBuffer dst) {
    writeFrameHeader(dst, 0, FrameType.SETTINGS, FrameType.ACK, 0);
  }

  public static void writePing(ByteBuffer dst, boolean ack, long payload) {
    writeFrameHeader(dst, 8, FrameType.PING, ack ? FrameType.ACK : 0, 0);
    putInt(dst, (int) (payload >>> 32));
    putInt(dst, (int) payload);
  }

  /** @param streamId 0 for the connection window */
  public static void writeWindowUpdate(ByteBuffer dst, int streamId, int increment) {
    if (increment <= 0) {
      // RFC 9113 §6.9: the peer treats a zero increment as an error; a negative one can't exist.
      throw new IllegalArgumentException("increment must be positive: " + increment);
    }
    writeFrameHeader(dst, 4, FrameType.WINDOW_UPDATE, (byte) 0, streamId);
    putInt(dst, increment);
  }

  public static void writeRstStream(ByteBuffer dst, int streamId, ErrorCode code) {
    writeFrameHeader(dst, 4, FrameType.RST_STREAM, (byte) 0, streamId);
    putInt(dst, code.code());
  }

  /** @param debugData opaque diagnostic bytes, possibly empty (RFC 9113 §6.8) */
  public static void writeGoAway(
      ByteBuffer dst, int lastStreamId, ErrorCode code, byte[] debugData) {
    writeFrameHeader(dst, 8 + debugData.length, FrameType.GOAWAY, (byte) 0, 0);
    putInt(dst, lastStreamId & 0x7FFF_FFFF);
    putInt(dst, code.code());
    dst.put(debugData);
  }

  /** Bytes {@link #writeGoAway} writes for {@code debugData}. */
  public static int goAwayBytes(byte[] debugData) {
    return FrameType.FRAME_HEADER_BYTES + 8 + debugData.length;
  }

  /**
   * Writes a header block as one HEADERS frame plus as many CONTINUATION frames as needed, each
   * payload at most {@code maxFrameSize}; END_HEADERS goes on the last, END_STREAM on the HEADERS
   * frame (RFC 9113 §6.2, §6.10). Borrows {@code block}: its remaining bytes are copied and its
   * position is not moved.
   */
  public static void writeHeaders(
      ByteBuffer dst, int streamId, ByteBuffer block, boolean endStream, int maxFrameSize) {
    int offset = block.position();
    int remaining = block.remaining();
    byte type = FrameType.HEADERS;
    byte flags = endStream ? FrameType.END_STREAM : 0;
    do {
      int n = Math.min(remaining, maxFrameSize);
      boolean last = n == remaining;
      writeFrameHeader(dst, n, type, (byte) (flags | (last ? FrameType.END_HEADERS : 0)),
          streamId);
      dst.put(block.slice(offset, n));
      offset += n;
      remaining -= n;
      type = FrameType.CONTINUATION;
      flags = 0;
    } while (remaining > 0);
  }

  /** Bytes {@link #writeHeaders} writes for a block of {@code blockLength} bytes. */
  public static int headersBytes(int blockLength, int maxFrameSize) {
    int frames = blockLength == 0 ? 1 : (blockLength - 1) / maxFrameSize + 1;
    return blockLength + frames * FrameType.FRAME_HEADER_BYTES;
  }

  private static void putInt(ByteBuffer dst, int v) {
    dst.put((byte) (v >>> 24));
    dst.put((byte) (v >>> 16));
    dst.put((byte) (v >>> 8));
    dst.put((byte) v);
  }
}
