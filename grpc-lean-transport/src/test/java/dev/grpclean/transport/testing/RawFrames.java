package dev.grpclean.transport.testing;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * HTTP/2 frames built byte by byte (RFC 9113 §4.1, §6), for tests that play a peer on a raw
 * socket or write fuzz seeds: nothing is checked, so a test can build malformed frames as easily
 * as well-formed ones. Header blocks come from the caller (a literal HPACK block, or an encoder
 * whose state the caller owns).
 *
 * <p>Thread-safe (stateless).
 */
public final class RawFrames {
  /** Bytes; the frame size every peer accepts before SETTINGS (RFC 9113 §4.2). */
  public static final int MAX_FRAME_BYTES = FrameType.DEFAULT_MAX_FRAME_SIZE;

  private RawFrames() {}

  /** The 24-byte client connection preface (RFC 9113 §3.4); a fresh copy. */
  public static byte[] preface() {
    return FrameType.CONNECTION_PREFACE.clone();
  }

  /** A frame with any header fields and payload; nothing is checked. */
  public static byte[] frame(int type, int flags, int streamId, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(FrameType.FRAME_HEADER_BYTES + payload.length);
    b.put(frameHeader(payload.length, type, flags, streamId)).put(payload);
    return b.array();
  }

  /** Only a 9-byte frame header, announcing {@code length} payload bytes. */
  public static byte[] frameHeader(int length, int type, int flags, int streamId) {
    return new byte[] {
      (byte) (length >>> 16), (byte) (length >>> 8), (byte) length, (byte) type, (byte) flags,
      (byte) (streamId >>> 24), (byte) (streamId >>> 16), (byte) (streamId >>> 8), (byte) streamId
    };
  }

  /** A SETTINGS frame; {@code idValuePairs} alternate id and (unsigned 32-bit) value. */
  public static byte[] settings(long... idValuePairs) {
    ByteBuffer p = ByteBuffer.allocate(idValuePairs.length / 2 * 6);
    for (int i = 0; i < idValuePairs.length; i += 2) {
      p.putShort((short) idValuePairs[i]).putInt((int) idValuePairs[i + 1]);
    }
    return frame(FrameType.SETTINGS, 0, 0, p.array());
  }

  public static byte[] settingsAck() {
    return frame(FrameType.SETTINGS, FrameType.ACK, 0, new byte[0]);
  }

  public static byte[] data(int streamId, byte[] payload, boolean endStream) {
    return frame(FrameType.DATA, endStream ? FrameType.END_STREAM : 0, streamId, payload);
  }

  /** {@code payload} as DATA frames of at most {@link #MAX_FRAME_BYTES}, END_STREAM on the last. */
  public static byte[] dataFrames(int streamId, byte[] payload, boolean endStream) {
    ByteArrayOutputStream frames = new ByteArrayOutputStream();
    int offset = 0;
    do {
      int n = Math.min(MAX_FRAME_BYTES, payload.length - offset);
      boolean last = offset + n == payload.length;
      byte[] chunk = Arrays.copyOfRange(payload, offset, offset + n);
      frames.writeBytes(data(streamId, chunk, endStream && last));
      offset += n;
    } while (offset < payload.length);
    return frames.toByteArray();
  }

  /** {@code block} in one HEADERS frame with END_HEADERS, whatever its size. */
  public static byte[] headers(int streamId, byte[] block, boolean endStream) {
    return frame(FrameType.HEADERS, FrameType.END_HEADERS | (endStream ? FrameType.END_STREAM : 0),
        streamId, block);
  }

  /** {@code block} as one HEADERS and CONTINUATION frames of at most {@code fragmentBytes}. */
  public static byte[] headerFrames(int streamId, byte[] block, boolean endStream,
      int fragmentBytes) {
    ByteArrayOutputStream frames = new ByteArrayOutputStream();
    int offset = 0;
    int type = FrameType.HEADERS;
    int flags = endStream ? FrameType.END_STREAM : 0;
    do {
      int n = Math.min(fragmentBytes, block.length - offset);
      boolean last = offset + n == block.length;
      byte[] fragment = Arrays.copyOfRange(block, offset, offset + n);
      int endHeaders = last ? FrameType.END_HEADERS : 0;
      frames.writeBytes(frame(type, flags | endHeaders, streamId, fragment));
      offset += n;
      type = FrameType.CONTINUATION;
      flags = 0;
    } while (offset < block.length);
    return frames.toByteArray();
  }

  public static byte[] windowUpdate(int streamId, int increment) {
    return frame(FrameType.WINDOW_UPDATE, 0, streamId, ByteBuffer.allocate(4).putInt(increment)
        .array());
  }

  public static byte[] rstStream(int streamId, ErrorCode code) {
    return frame(FrameType.RST_STREAM, 0, streamId, ByteBuffer.allocate(4).putInt(code.code())
        .array());
  }

  public static byte[] ping(boolean ack, long payload) {
    return frame(FrameType.PING, ack ? FrameType.ACK : 0, 0, ByteBuffer.allocate(8)
        .putLong(payload).array());
  }

  /** A GOAWAY frame: last stream id, error code and {@code debugData} as UTF-8. */
  public static byte[] goAway(int lastStreamId, ErrorCode code, String debugData) {
    byte[] debug = debugData.getBytes(StandardCharsets.UTF_8);
    return frame(FrameType.GOAWAY, 0, 0, ByteBuffer.allocate(8 + debug.length)
        .putInt(lastStreamId).putInt(code.code()).put(debug).array());
  }

  /** The request headers a gRPC client sends for {@code fullMethod} ("service/method"). */
  public static Http2Headers grpcRequestHeaders(String fullMethod) {
    return new DefaultHttp2Headers()
        .method("POST")
        .scheme("http")
        .path("/" + fullMethod)
        .authority("localhost")
        .add("content-type", "application/grpc")
        .add("te", "trailers");
  }

  /** One uncompressed gRPC message: 0, 4-byte big-endian length, bytes. */
  public static byte[] grpcMessage(byte[] message) {
    return ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length)
        .put(message).array();
  }

  /** The chunks back to back. */
  public static byte[] concat(byte[]... chunks) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] c : chunks) {
      all.writeBytes(c);
    }
    return all.toByteArray();
  }
}
