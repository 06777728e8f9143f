package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;
import io.grpc.Status;
import java.nio.ByteBuffer;

/**
 * The per-stream HTTP/2 rules both sides apply alike, over the connection's one map of
 * {@link H2Stream}s ({@link Http2Connection#streams}): RST_STREAM received, stream errors, a
 * stream's WINDOW_UPDATE, SETTINGS_INITIAL_WINDOW_SIZE deltas, consumed bytes going back to the
 * windows, a local reset, and taking a stream out. What differs between client and server is in
 * the connection's hooks ({@code checkNotIdle}, {@code onPeerReset}, {@code onStreamFailed}).
 * DATA's rule is {@link Http2Connection#onData}: it feeds the memory budget as well.
 *
 * <p>Stateless: the state is the connection's stream map and each stream's windows. Every method
 * runs on the connection's loop thread.
 */
final class StreamRules {
  private StreamRules() {}

  /** RST_STREAM from the peer (RFC 9113 §6.4): the stream's output is dropped, the side reports. */
  static void onRstStream(Http2Connection conn, int streamId, long errorCode)
      throws Http2ConnectionError {
    conn.counters.rstStreamReceived(errorCode);
    H2Stream s = conn.streams.get(streamId);
    if (s == null) {
      // RFC 9113 §6.4: RST_STREAM on an idle stream is a connection error; on a closed one, late.
      conn.checkNotIdle(streamId, "RST_STREAM");
      return;
    }
    conn.writer.cancel(s.outbound());
    conn.onPeerReset(s, errorCode);
  }

  /** A stream error (RFC 9113 §5.4.2): the stream fails, the peer gets RST_STREAM. */
  static void onStreamError(Http2Connection conn, Http2StreamError error) {
    H2Stream s = conn.streams.get(error.streamId());
    if (s != null) {
      conn.writer.cancel(s.outbound());
      conn.onStreamFailed(s, Status.INTERNAL.withDescription(
          "HTTP/2 stream error " + error.code() + ": " + error.getMessage()));
    }
    conn.sendRst(error.streamId(), error.code());
  }

  /** WINDOW_UPDATE for a stream (the flood rule was applied by {@link ConnectionFlow}). */
  static void onStreamWindowUpdate(Http2Connection conn, int streamId, int increment)
      throws Http2ConnectionError, Http2StreamError {
    H2Stream s = conn.streams.get(streamId);
    if (s == null) {
      conn.checkNotIdle(streamId, "WINDOW_UPDATE");
      return;
    }
    if (!conn.writer.updateStreamWindow(s.outbound(), increment)) {
      throw new Http2StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR,
          "stream window overflow (RFC 9113 §6.9.1)");
    }
    conn.requestFlush();
  }

  /** §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE change adjusts every open stream's send window. */
  static void applyInitialWindowDelta(Http2Connection conn, int delta)
      throws Http2ConnectionError {
    for (H2Stream s : conn.streams.values()) {
      if (!conn.writer.updateStreamWindow(s.outbound(), delta)) {
        // RFC 9113 §6.9.2: a change that overflows any stream's window is a connection error.
        throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR,
            "SETTINGS_INITIAL_WINDOW_SIZE overflows stream " + s.id());
      }
    }
    conn.requestFlush();
  }

  /**
   * The application consumed {@code bytes} of {@code s}: they go back to the stream and the
   * connection windows, with a WINDOW_UPDATE once half a window is consumed ({@link InboundFlow}).
   */
  static void onBytesConsumed(Http2Connection conn, H2Stream s, int bytes) {
    if (conn.closed || conn.streams.get(s.id()) != s) {
      // A removed stream's unconsumed bytes went back to the connection window at removal.
      return;
    }
    if (conn.connectionBudget != null) {
      conn.connectionBudget.beforeConsume(s);
    }
    int before = s.inbound().unconsumedBytes();
    int update = s.inbound().consume(bytes);
    conn.returnConnectionBytes(before - s.inbound().unconsumedBytes());
    if (update > 0 && !s.isRemoteClosed()) {
      conn.sendControl(new ControlFrame.WindowUpdate(s.id(), update));
    }
  }

  /**
   * Takes {@code s} out of the connection: what it received and nobody consumed goes back to the
   * connection window, what it queued is dropped. Returns false if it was not registered.
   */
  static boolean unregister(Http2Connection conn, H2Stream s) {
    if (conn.streams.get(s.id()) != s) {
      return false;
    }
    conn.streams.remove(s.id());
    conn.returnConnectionBytes(s.inbound().takeUnconsumed());
    conn.writer.cancel(s.outbound());
    conn.counters.streamEnded(s.outbound());
    return true;
  }

  /** We reset {@code s}: its queued output is dropped and the peer gets RST_STREAM. */
  static void resetLocally(Http2Connection conn, H2Stream s, ErrorCode code) {
    if (conn.streams.get(s.id()) == s && !conn.closed) {
      conn.writer.cancel(s.outbound());
      conn.sendRst(s.id(), code);
    }
  }

  /**
   * A DATA frame (RFC 9113 §6.1): the connection window and the empty-frame rule first, then the
   * stream's window, padding consumed at once, the payload delivered, the end of the stream.
   */
  static void onData(Http2Connection conn, int streamId, ByteBuffer data,
      int flowControlledBytes, boolean endStream) throws Http2ConnectionError, Http2StreamError {
    conn.connectionFlow.onDataFrame(data.remaining(), flowControlledBytes, endStream);
    H2Stream s = conn.streams.get(streamId);
    if (s == null || s.isRemoteClosed()) {
      // Nobody will consume these bytes: they go back to the connection window at once.
      conn.returnConnectionBytes(flowControlledBytes);
      if (s != null) {
        throw new Http2StreamError(streamId, ErrorCode.STREAM_CLOSED,
            "DATA after END_STREAM (RFC 9113 §5.1)");
      }
      conn.checkNotIdle(streamId, "DATA");
      conn.onDataForClosedStream(streamId);
      return;
    }
    try {
      s.inbound().charge(streamId, flowControlledBytes);
      if (flowControlledBytes > 0 && s.inbound().windowBytes() == 0) {
        conn.counters.peerFilledStreamWindow();
      }
    } catch (Http2StreamError e) {
      conn.returnConnectionBytes(flowControlledBytes);
      throw e;
    }
    // RFC 9113 §6.1: padding counts against flow control but reaches nobody: consumed now.
    int padding = flowControlledBytes - data.remaining();
    if (padding > 0) {
      s.inbound().consume(padding);
      conn.returnConnectionBytes(padding);
    }
    if (endStream) {
      s.markRemoteClosed();
    }
    if (conn.counters.on) {
      s.outbound().bytesReceived += data.remaining();
    }
    int consumed = s.deliverData(data, endStream);
    if (consumed > 0) {
      conn.returnConnectionBytes(consumed);
    }
    if (conn.connectionBudget != null) {
      conn.connectionBudget.afterDataDelivered(flowControlledBytes);
    }
    if (endStream) {
      conn.onRemoteEnd(s);
    }
  }
}
