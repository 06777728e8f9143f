package dev.grpclean.transport.frame;

import static dev.grpclean.transport.frame.ErrorCode.FRAME_SIZE_ERROR;
import static dev.grpclean.transport.frame.ErrorCode.PROTOCOL_ERROR;

/**
 * The connection-level checks that need only a frame's 9-byte header, run before its payload is
 * buffered so that a bad frame never costs memory.
 *
 * <p>Stateless; thread-safe.
 */
final class FrameChecks {
  private FrameChecks() {}

  /**
   * Checks one frame header against the frame-size limit, the connection's first-frame rule and
   * an open header block, then the per-type stream id and fixed length rules.
   *
   * @param expectingFirstSettings true until the peer's first frame has arrived
   * @param assembler the header block in progress, if {@link HeaderBlockAssembler#isActive}
   */
  static void checkHeader(
      int type, int flags, int streamId, int length, int maxFrameSize,
      boolean expectingFirstSettings, HeaderBlockAssembler assembler)
      throws Http2ConnectionError {
    if (length > maxFrameSize) {
      // RFC 9113 §4.2: larger than SETTINGS_MAX_FRAME_SIZE. Treated as a connection error for
      // every type: we cannot tell whether the frame would alter connection state (a field
      // block) without buffering it, which is what the limit protects against.
      throw connError(FRAME_SIZE_ERROR, type, streamId,
          "length " + length + " exceeds the maximum frame size " + maxFrameSize);
    }
    if (expectingFirstSettings && (type != FrameType.SETTINGS || (flags & FrameType.ACK) != 0)) {
      // RFC 9113 §3.4: the preface is followed by a SETTINGS frame, which MUST be the first
      // frame; anything else is a connection error PROTOCOL_ERROR.
      throw connError(PROTOCOL_ERROR, type, streamId,
          "the first frame must be a non-ACK SETTINGS frame (RFC 9113 §3.4)");
    }
    if (assembler.isActive()) {
      // RFC 9113 §6.10: a header block is a contiguous sequence; any other frame, or a
      // CONTINUATION on another stream, is a connection error PROTOCOL_ERROR.
      if (type != FrameType.CONTINUATION || streamId != assembler.streamId()) {
        throw connError(PROTOCOL_ERROR, type, streamId,
            "expected CONTINUATION for stream " + assembler.streamId() + " (RFC 9113 §6.10)");
      }
      // CONTINUATION has no padding, so its whole payload joins the block: check the cap now.
      assembler.checkCap((long) assembler.blockLength() + length);
    }
    switch (type) {
      case FrameType.DATA:
      case FrameType.HEADERS:
      case FrameType.PRIORITY:
      case FrameType.RST_STREAM:
        // RFC 9113 §6.1, §6.2, §6.3, §6.4: these belong to a stream.
        requireStream(type, streamId);
        break;
      case FrameType.CONTINUATION:
        requireStream(type, streamId);
        if (!assembler.isActive()) {
          // RFC 9113 §6.10: must follow HEADERS, PUSH_PROMISE or CONTINUATION without
          // END_HEADERS.
          throw connError(PROTOCOL_ERROR, type, streamId,
              "no header block is open (RFC 9113 §6.10)");
        }
        break;
      case FrameType.SETTINGS:
        requireConnection(type, streamId); // §6.5
        if ((flags & FrameType.ACK) != 0 && length != 0) {
          throw connError(FRAME_SIZE_ERROR, type, streamId, "ACK with a payload (RFC 9113 §6.5)");
        }
        if (length % 6 != 0) {
          throw connError(FRAME_SIZE_ERROR, type, streamId,
              "length " + length + " is not a multiple of 6 (RFC 9113 §6.5)");
        }
        break;
      case FrameType.PUSH_PROMISE:
        // RFC 9113 §8.4: a client that disabled push, as we always do with ENABLE_PUSH=0,
        // treats PUSH_PROMISE as a connection error PROTOCOL_ERROR; a server never accepts it.
        throw connError(PROTOCOL_ERROR, type, streamId, "push is disabled (RFC 9113 §8.4)");
      case FrameType.PING:
        requireConnection(type, streamId); // §6.7
        if (length != 8) {
          throw connError(FRAME_SIZE_ERROR, type, streamId,
              "length " + length + " is not 8 (RFC 9113 §6.7)");
        }
        break;
      case FrameType.GOAWAY:
        requireConnection(type, streamId); // §6.8
        if (length < 8) {
          throw connError(FRAME_SIZE_ERROR, type, streamId,
              "length " + length + " is below 8 (RFC 9113 §6.8)");
        }
        break;
      default:
        break;
    }
    if ((type == FrameType.RST_STREAM || type == FrameType.WINDOW_UPDATE) && length != 4) {
      // RFC 9113 §6.4 and §6.9: any other length is a connection error FRAME_SIZE_ERROR.
      throw connError(FRAME_SIZE_ERROR, type, streamId,
          "length " + length + " is not 4 (RFC 9113 §6.4, §6.9)");
    }
  }

  private static void requireStream(int type, int streamId) throws Http2ConnectionError {
    if (streamId == 0) {
      throw connError(PROTOCOL_ERROR, type, streamId, "must be sent on a stream, not stream 0");
    }
  }

  private static void requireConnection(int type, int streamId) throws Http2ConnectionError {
    if (streamId != 0) {
      throw connError(PROTOCOL_ERROR, type, streamId, "must be sent on stream 0");
    }
  }

  static Http2ConnectionError connError(ErrorCode code, int type, int streamId, String why) {
    return new Http2ConnectionError(
        code, FrameType.name(type) + " frame on stream " + streamId + ": " + why);
  }
}
