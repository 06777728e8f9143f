package dev.grpclean.transport.frame;

import java.nio.ByteBuffer;

/**
 * Receives the frames a {@link FrameReader} parsed, in wire order.
 *
 * <p>Every {@link ByteBuffer} argument is <em>borrowed</em>: it is valid only during the call
 * (it may be a view of the socket read buffer, which returns to its pool right after the read);
 * copy what you keep. Its position and limit frame exactly the bytes described; its contents must
 * not be modified.
 *
 * <p>Throwing {@link Http2StreamError} from a callback is reported back through {@link
 * #onStreamError} and parsing continues; throwing {@link Http2ConnectionError} ends the read and
 * the reader.
 *
 * <p>Called on the thread that calls {@link FrameReader#read}; implementations need not be
 * thread-safe.
 */
public interface FrameListener {
  /**
   * A DATA frame (RFC 9113 §6.1).
   *
   * @param data the payload without the pad length byte and padding
   * @param flowControlledBytes the whole frame payload length, including the pad length byte and
   *     padding: what counts against the flow-control windows (§6.9)
   */
  void onData(int streamId, ByteBuffer data, int flowControlledBytes, boolean endStream)
      throws Http2ConnectionError, Http2StreamError;

  /**
   * A complete header block: one HEADERS frame plus any CONTINUATION frames (§6.2, §6.10), with
   * padding and priority fields stripped. Still HPACK-encoded.
   *
   * <p>A HEADERS frame whose priority makes the stream depend on itself still arrives here, and
   * is then followed by {@link #onStreamError} PROTOCOL_ERROR for that stream (§5.3.1): the block
   * must be decompressed anyway to keep the HPACK state in sync (§4.3).
   */
  void onHeaders(int streamId, ByteBuffer headerBlock, boolean endStream)
      throws Http2ConnectionError, Http2StreamError;

  /**
   * A PRIORITY frame (§6.3); the priority fields of HEADERS frames are not reported. RFC 9113
   * §5.3.2 deprecates this priority scheme, so ignoring it is fine.
   *
   * @param weight 1 to 256
   */
  void onPriority(int streamId, int dependencyStreamId, int weight, boolean exclusive)
      throws Http2ConnectionError, Http2StreamError;

  /** @param errorCode the unsigned 32-bit code; see {@link ErrorCode#forCode}. */
  void onRstStream(int streamId, long errorCode) throws Http2ConnectionError;

  /** A non-ACK SETTINGS frame whose values passed the checks of §6.5.2. */
  void onSettings(Settings settings) throws Http2ConnectionError;

  void onSettingsAck() throws Http2ConnectionError;

  /** @param payload the 8 opaque bytes, big-endian */
  void onPing(long payload, boolean ack) throws Http2ConnectionError;

  /** @param errorCode the unsigned 32-bit code; see {@link ErrorCode#forCode}. */
  void onGoAway(int lastStreamId, long errorCode, ByteBuffer debugData)
      throws Http2ConnectionError;

  /** @param increment 1 to 2^31-1; a zero increment never gets here (§6.9). */
  void onWindowUpdate(int streamId, int increment) throws Http2ConnectionError, Http2StreamError;

  /**
   * A stream error the reader detected, or that another callback threw. The reader keeps
   * parsing after this returns. The connection resets the stream with RST_STREAM.
   */
  void onStreamError(Http2StreamError error) throws Http2ConnectionError;
}
