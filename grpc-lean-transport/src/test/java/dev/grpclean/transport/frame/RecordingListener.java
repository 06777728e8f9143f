package dev.grpclean.transport.frame;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Records every callback as one line of text, copying borrowed buffers as hex, so split and whole
 * feeds can be compared with {@code assertEquals}. A test can make a callback throw.
 *
 * <p>Not thread-safe; confined to the test thread.
 */
class RecordingListener implements FrameListener {
  final List<String> events = new ArrayList<>();
  /** When set, onData for this stream throws a stream error. */
  int failDataOnStream = -1;
  /** When set, onPing throws this connection error. */
  Http2ConnectionError failPing;
  /** When set, onGoAway throws this. */
  RuntimeException goAwayBug;
  /** The last data buffer seen, to check in-place dispatch. */
  ByteBuffer lastData;
  Http2StreamError lastStreamError;

  @Override
  public void onData(int streamId, ByteBuffer data, int flowControlledBytes, boolean endStream)
      throws Http2StreamError {
    lastData = data;
    events.add("DATA " + streamId + " " + Hex.of(data) + " fc=" + flowControlledBytes
        + (endStream ? " END_STREAM" : ""));
    if (streamId == failDataOnStream) {
      throw new Http2StreamError(streamId, ErrorCode.CANCEL, "test");
    }
  }

  @Override
  public void onHeaders(int streamId, ByteBuffer headerBlock, boolean endStream) {
    events.add("HEADERS " + streamId + " " + Hex.of(headerBlock)
        + (endStream ? " END_STREAM" : ""));
  }

  @Override
  public void onPriority(int streamId, int dependencyStreamId, int weight, boolean exclusive) {
    events.add("PRIORITY " + streamId + " dep=" + dependencyStreamId + " w=" + weight
        + (exclusive ? " exclusive" : ""));
  }

  @Override
  public void onRstStream(int streamId, long errorCode) {
    events.add("RST_STREAM " + streamId + " " + errorCode);
  }

  @Override
  public void onSettings(Settings settings) {
    events.add("SETTINGS " + settings);
  }

  @Override
  public void onSettingsAck() {
    events.add("SETTINGS_ACK");
  }

  @Override
  public void onPing(long payload, boolean ack) throws Http2ConnectionError {
    events.add("PING " + Long.toHexString(payload) + (ack ? " ACK" : ""));
    if (failPing != null) {
      throw failPing;
    }
  }

  @Override
  public void onGoAway(int lastStreamId, long errorCode, ByteBuffer debugData) {
    events.add("GOAWAY " + lastStreamId + " " + errorCode + " " + Hex.of(debugData));
    if (goAwayBug != null) {
      throw goAwayBug;
    }
  }

  @Override
  public void onWindowUpdate(int streamId, int increment) {
    events.add("WINDOW_UPDATE " + streamId + " " + increment);
  }

  @Override
  public void onStreamError(Http2StreamError error) {
    lastStreamError = error;
    events.add("STREAM_ERROR " + error.streamId() + " " + error.code());
  }
}
