package dev.grpclean.transport;

import dev.grpclean.transport.frame.FrameType;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One HTTP/2 frame parsed by hand from bytes a writer produced (RFC 9113 §4.1), so writer tests
 * check the wire without trusting our own reader.
 *
 * <p>Immutable.
 */
final class WireFrame {
  final int type;
  final int flags;
  final int streamId;
  final byte[] payload;

  private WireFrame(int type, int flags, int streamId, byte[] payload) {
    this.type = type;
    this.flags = flags;
    this.streamId = streamId;
    this.payload = payload;
  }

  /** Parses whole frames; fails if the bytes end inside a frame. */
  static List<WireFrame> parseAll(byte[] bytes) {
    List<WireFrame> frames = new ArrayList<>();
    int at = 0;
    while (at < bytes.length) {
      if (bytes.length - at < FrameType.FRAME_HEADER_BYTES) {
        throw new AssertionError("truncated frame header at offset " + at);
      }
      int length = (bytes[at] & 0xff) << 16 | (bytes[at + 1] & 0xff) << 8 | (bytes[at + 2] & 0xff);
      int type = bytes[at + 3] & 0xff;
      int flags = bytes[at + 4] & 0xff;
      int streamId = ByteBuffer.wrap(bytes, at + 5, 4).getInt() & 0x7fff_ffff;
      at += FrameType.FRAME_HEADER_BYTES;
      if (bytes.length - at < length) {
        throw new AssertionError("truncated " + FrameType.name(type) + " payload at offset " + at);
      }
      frames.add(new WireFrame(type, flags, streamId, Arrays.copyOfRange(bytes, at, at + length)));
      at += length;
    }
    return frames;
  }

  boolean isData() {
    return type == FrameType.DATA;
  }

  boolean isHeaders() {
    return type == FrameType.HEADERS;
  }

  /** END_STREAM on DATA/HEADERS; the same bit is ACK on SETTINGS/PING. */
  boolean endStream() {
    return (flags & FrameType.END_STREAM) != 0;
  }

  boolean endHeaders() {
    return (flags & FrameType.END_HEADERS) != 0;
  }

  /** The first four payload bytes as a big-endian int (WINDOW_UPDATE increment, RST code). */
  int payloadInt(int offset) {
    return ByteBuffer.wrap(payload, offset, 4).getInt();
  }

  long payloadLong() {
    return ByteBuffer.wrap(payload).getLong();
  }

  @Override
  public String toString() {
    return FrameType.name(type) + "(stream=" + streamId + ", flags=0x" + Integer.toHexString(flags)
        + ", length=" + payload.length + ")";
  }
}
