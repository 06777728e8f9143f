package dev.grpclean.transport.frame;

import static dev.grpclean.transport.frame.ErrorCode.FLOW_CONTROL_ERROR;
import static dev.grpclean.transport.frame.ErrorCode.FRAME_SIZE_ERROR;
import static dev.grpclean.transport.frame.ErrorCode.PROTOCOL_ERROR;
import static dev.grpclean.transport.frame.FrameChecks.connError;

import java.nio.ByteBuffer;

/**
 * Decodes one complete frame payload by type and calls the {@link FrameListener}. The length and
 * stream id rules that need only the frame header were already enforced by {@link FrameChecks};
 * the rules here need the payload. Stream errors, found here or thrown by a callback, go to
 * {@link FrameListener#onStreamError}; connection errors propagate.
 *
 * <p>Thread-compatible; owned by one {@link FrameReader}.
 */
final class FrameDispatcher {
  private final FrameListener listener;
  private final HeaderBlockAssembler assembler;
  /** Whether we are the server: only a client must reject ENABLE_PUSH=1 (RFC 9113 §6.5.2). */
  private final boolean server;
  /** Whether the open header block's HEADERS frame made its stream depend on itself. */
  private boolean blockSelfDependent;

  FrameDispatcher(FrameListener listener, HeaderBlockAssembler assembler, boolean server) {
    this.listener = listener;
    this.assembler = assembler;
    this.server = server;
  }

  /**
   * Dispatches one frame whose payload is {@code p}, from index 0 to its limit (big-endian).
   * Unknown types never get here (RFC 9113 §4.1: they are skipped unbuffered).
   */
  void dispatch(int type, int flags, int streamId, ByteBuffer p) throws Http2ConnectionError {
    try {
      switch (type) {
        case FrameType.DATA: data(flags, streamId, p); break;
        case FrameType.HEADERS: headers(flags, streamId, p); break;
        case FrameType.PRIORITY: priority(streamId, p); break;
        case FrameType.RST_STREAM:
          listener.onRstStream(streamId, p.getInt(0) & 0xFFFF_FFFFL);
          break;
        case FrameType.SETTINGS: settings(flags, p); break;
        case FrameType.PING: listener.onPing(p.getLong(0), (flags & FrameType.ACK) != 0); break;
        case FrameType.GOAWAY:
          listener.onGoAway(p.getInt(0) & 0x7FFF_FFFF, p.getInt(4) & 0xFFFF_FFFFL,
              p.slice(8, p.limit() - 8));
          break;
        case FrameType.WINDOW_UPDATE: windowUpdate(streamId, p); break;
        case FrameType.CONTINUATION: continuation(flags, p); break;
        default: throw new AssertionError("unexpected frame type " + type);
      }
    } catch (Http2StreamError e) {
      listener.onStreamError(e);
    }
  }

  /**
   * A DATA frame whose payload is {@code p}'s position..limit: the reader passes a reused view of
   * its input here, not a slice, and this narrows it to the data in place (no object per frame:
   * DATA frames are the ones that come by the thousand).
   */
  void dispatchData(int flags, int streamId, ByteBuffer p) throws Http2ConnectionError {
    try {
      data(flags, streamId, p);
    } catch (Http2StreamError e) {
      listener.onStreamError(e);
    }
  }

  private void data(int flags, int streamId, ByteBuffer p)
      throws Http2ConnectionError, Http2StreamError {
    int base = p.position();
    int length = p.remaining();
    int start = 0;
    int dataLength = length;
    if ((flags & FrameType.PADDED) != 0) {
      if (length < 1) {
        // RFC 9113 §4.2: too small for the Pad Length field; DATA counts against the connection
        // window, so a connection error.
        throw connError(FRAME_SIZE_ERROR, FrameType.DATA, streamId,
            "PADDED with an empty payload");
      }
      int padLength = p.get(base) & 0xFF;
      start = 1;
      dataLength = length - 1 - padLength;
      checkPadding(FrameType.DATA, streamId, dataLength, padLength, length);
    }
    p.limit(base + start + dataLength).position(base + start);
    listener.onData(streamId, p, length, (flags & FrameType.END_STREAM) != 0);
  }

  private void headers(int flags, int streamId, ByteBuffer p)
      throws Http2ConnectionError, Http2StreamError {
    int length = p.limit();
    int start = 0;
    int padLength = 0;
    if ((flags & FrameType.PADDED) != 0) {
      padLength = padLength(FrameType.HEADERS, streamId, p);
      start = 1;
    }
    boolean selfDependent = false;
    if ((flags & FrameType.PRIORITY_FLAG) != 0) {
      if (length < start + 5) {
        // RFC 9113 §4.2: too small for its mandatory fields; HEADERS carries a field block, so
        // this is a connection error.
        throw connError(FRAME_SIZE_ERROR, FrameType.HEADERS, streamId,
            "length " + length + " too small for the priority fields");
      }
      selfDependent = (p.getInt(start) & 0x7FFF_FFFF) == streamId;
      start += 5;
    }
    int fragmentLength = length - start - padLength;
    checkPadding(FrameType.HEADERS, streamId, fragmentLength, padLength, length);
    ByteBuffer fragment = p.slice(start, fragmentLength);
    boolean endStream = (flags & FrameType.END_STREAM) != 0;
    if ((flags & FrameType.END_HEADERS) == 0) {
      // RFC 9113 §6.10: CONTINUATION frames follow; the last one delivers the block.
      assembler.start(streamId, endStream, fragment);
      blockSelfDependent = selfDependent;
      return;
    }
    assembler.checkCap(fragmentLength);
    deliverHeaders(streamId, fragment, endStream, selfDependent);
  }

  private void deliverHeaders(int streamId, ByteBuffer block, boolean endStream,
      boolean selfDependent) throws Http2ConnectionError, Http2StreamError {
    // RFC 9113 §4.3: a field block must be decompressed even when its stream fails, or the
    // HPACK tables desynchronize; so deliver the block first, then report the stream error.
    listener.onHeaders(streamId, block, endStream);
    if (selfDependent) {
      throw selfDependency(streamId);
    }
  }

  private void continuation(int flags, ByteBuffer p)
      throws Http2ConnectionError, Http2StreamError {
    assembler.append(p);
    if ((flags & FrameType.END_HEADERS) == 0) {
      return;
    }
    boolean selfDependent = blockSelfDependent;
    blockSelfDependent = false;
    try {
      deliverHeaders(assembler.streamId(), assembler.view(), assembler.endStream(), selfDependent);
    } finally {
      assembler.reset();
    }
  }

  private void priority(int streamId, ByteBuffer p) throws Http2ConnectionError, Http2StreamError {
    if (p.limit() != 5) {
      // RFC 9113 §6.3: a stream error FRAME_SIZE_ERROR.
      throw new Http2StreamError(streamId, FRAME_SIZE_ERROR,
          "PRIORITY frame length " + p.limit() + " is not 5 (RFC 9113 §6.3)");
    }
    int word = p.getInt(0);
    int dependency = word & 0x7FFF_FFFF;
    if (dependency == streamId) {
      throw selfDependency(streamId);
    }
    listener.onPriority(streamId, dependency, (p.get(4) & 0xFF) + 1, word < 0);
  }

  private void settings(int flags, ByteBuffer p) throws Http2ConnectionError {
    if ((flags & FrameType.ACK) != 0) {
      listener.onSettingsAck();
      return;
    }
    Settings settings = new Settings();
    for (int i = 0; i < p.limit(); i += 6) {
      int id = p.getShort(i) & 0xFFFF;
      long value = p.getInt(i + 2) & 0xFFFF_FFFFL;
      if (!Settings.isKnown(id)) {
        continue; // RFC 9113 §6.5.2: unknown settings MUST be ignored.
      }
      checkSetting(id, value);
      settings.set(id, value);
    }
    listener.onSettings(settings);
  }

  private void checkSetting(int id, long value) throws Http2ConnectionError {
    switch (id) {
      case Settings.ENABLE_PUSH:
        // RFC 9113 §6.5.2: only 0 or 1; and a client MUST reject 1 from a server.
        if (value > 1 || (value == 1 && !server)) {
          throw settingError(PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH", value);
        }
        break;
      case Settings.INITIAL_WINDOW_SIZE:
        // RFC 9113 §6.5.2: above 2^31-1 is a connection error FLOW_CONTROL_ERROR.
        if (value > FrameType.MAX_WINDOW) {
          throw settingError(FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE", value);
        }
        break;
      case Settings.MAX_FRAME_SIZE:
        // RFC 9113 §6.5.2: outside [2^14, 2^24-1] is a connection error PROTOCOL_ERROR.
        if (value < FrameType.DEFAULT_MAX_FRAME_SIZE || value > FrameType.MAX_ALLOWED_FRAME_SIZE) {
          throw settingError(PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE", value);
        }
        break;
      default:
        break;
    }
  }

  private static Http2ConnectionError settingError(ErrorCode code, String name, long value) {
    return new Http2ConnectionError(
        code, "invalid " + name + " value " + value + " (RFC 9113 §6.5.2)");
  }

  private void windowUpdate(int streamId, ByteBuffer p)
      throws Http2ConnectionError, Http2StreamError {
    int increment = p.getInt(0) & 0x7FFF_FFFF;
    if (increment == 0) {
      // RFC 9113 §6.9: a zero increment is a stream error on a stream, a connection error on
      // the connection.
      if (streamId == 0) {
        throw connError(PROTOCOL_ERROR, FrameType.WINDOW_UPDATE, 0, "zero increment (§6.9)");
      }
      throw new Http2StreamError(streamId, PROTOCOL_ERROR,
          "WINDOW_UPDATE with a zero increment (RFC 9113 §6.9)");
    }
    listener.onWindowUpdate(streamId, increment);
  }

  private static int padLength(int type, int streamId, ByteBuffer p) throws Http2ConnectionError {
    if (p.limit() < 1) {
      // RFC 9113 §4.2: too small for the Pad Length field. DATA counts against the connection
      // window and HEADERS carries a field block, so both are connection errors.
      throw connError(FRAME_SIZE_ERROR, type, streamId, "PADDED with an empty payload");
    }
    return p.get(0) & 0xFF;
  }

  private static void checkPadding(int type, int streamId, int remaining, int padLength,
      int length) throws Http2ConnectionError {
    if (remaining < 0) {
      // RFC 9113 §6.1, §6.2: padding as long as the payload or longer is a connection error
      // PROTOCOL_ERROR.
      throw connError(PROTOCOL_ERROR, type, streamId,
          "padding " + padLength + " too long for payload length " + length);
    }
  }

  private static Http2StreamError selfDependency(int streamId) {
    // RFC 9113 §5.3.1: a stream cannot depend on itself; a stream error PROTOCOL_ERROR.
    return new Http2StreamError(streamId, PROTOCOL_ERROR,
        "stream " + streamId + " depends on itself (RFC 9113 §5.3.1)");
  }
}
