package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2StreamError;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * RFC 9113 §8.1.1: a request whose DATA does not add up to its content-length is malformed,
 * a stream error PROTOCOL_ERROR. gRPC clients send no content-length; plain HTTP/2 peers may.
 *
 * <p>Confined to the connection's loop thread.
 */
final class ContentLength {
  private static final ContentLength ABSENT = new ContentLength(-1);

  private final long declaredBytes;
  private long receivedBytes;

  private ContentLength(long declaredBytes) {
    this.declaredBytes = declaredBytes;
  }

  /** The request's declared length, or a shared no-op when it declares none. */
  static ContentLength of(int streamId, Http2Headers headers) throws Http2StreamError {
    CharSequence value = headers.get("content-length");
    if (value == null) {
      return ABSENT;
    }
    long declared;
    try {
      declared = Long.parseLong(value.toString().trim());
    } catch (NumberFormatException e) {
      declared = -1;
    }
    if (declared < 0) {
      throw new Http2StreamError(streamId, ErrorCode.PROTOCOL_ERROR,
          "malformed content-length: " + value);
    }
    return new ContentLength(declared);
  }

  /** Checks the body so far; at END_STREAM the total must match exactly. */
  void onData(int streamId, int dataBytes, boolean endStream) throws Http2StreamError {
    if (declaredBytes < 0) {
      return;
    }
    receivedBytes += dataBytes;
    if (receivedBytes > declaredBytes || (endStream && receivedBytes != declaredBytes)) {
      throw new Http2StreamError(streamId, ErrorCode.PROTOCOL_ERROR,
          "DATA adds up to " + receivedBytes + " bytes, content-length says " + declaredBytes
              + " (RFC 9113 §8.1.1)");
    }
  }
}
