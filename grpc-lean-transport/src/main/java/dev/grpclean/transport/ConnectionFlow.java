package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;

/**
 * Connection-level flow control of one {@link Http2Connection} and the two flood rules that ride
 * on it. Receive side: the connection window (RFC 9113 §6.9) is an {@link InboundFlow} charged by
 * every DATA frame and given back, with WINDOW_UPDATE by the same half-window rule as a stream's,
 * as the application consumes. Send side: WINDOW_UPDATE raises the writer's connection window (a
 * stream's goes to {@link StreamRules#onStreamWindowUpdate}); the writer owns the send windows.
 * Floods: DATA frames that carry nothing, WINDOW_UPDATEs that answer no DATA.
 *
 * <p>Confined to the connection's loop thread.
 */
final class ConnectionFlow implements io.grpc.internal.TransportTracer.FlowControlReader {
  /**
   * DATA frames in a row that carry no payload and do not end their stream. Such frames have no
   * use; Netty allows the same ten before it calls the peer abusive.
   */
  static final int MAX_CONSECUTIVE_EMPTY_DATA_FRAMES = 10;
  /** WINDOW_UPDATE frames allowed beyond two per DATA frame we sent (initial window raises). */
  static final int WINDOW_UPDATE_ALLOWANCE = 1000;

  private final Http2Connection conn;
  /**
   * The connection's receive window: what the peer may still send on the connection. It starts at
   * 65,535 whatever our SETTINGS say (§6.9.2); {@link #openInitialWindow} raises it to the
   * configured window.
   */
  private final InboundFlow connectionFlow;
  private int emptyDataFrames;
  private long windowUpdatesReceived;

  ConnectionFlow(Http2Connection conn, int configuredWindowBytes) {
    this.conn = conn;
    this.connectionFlow = new InboundFlow(FrameType.DEFAULT_INITIAL_WINDOW, configuredWindowBytes);
  }

  /** Raises the receive window from the protocol's 65,535 to {@code target} bytes, if larger. */
  void openInitialWindow(int target) {
    if (target > FrameType.DEFAULT_INITIAL_WINDOW) {
      int delta = target - FrameType.DEFAULT_INITIAL_WINDOW;
      connectionFlow.grow(delta);
      conn.sendControl(new ControlFrame.WindowUpdate(0, delta));
    }
  }

  /**
   * Accounts an inbound DATA frame before its stream sees it: the empty-frame flood rule, then
   * the connection window.
   */
  void onDataFrame(int payloadBytes, int flowControlledBytes, boolean endStream)
      throws Http2ConnectionError {
    if (payloadBytes > 0) {
      emptyDataFrames = 0;
    } else if (!endStream && ++emptyDataFrames > MAX_CONSECUTIVE_EMPTY_DATA_FRAMES) {
      // CVE-2019-9518: frames that carry nothing cost us a dispatch each and the peer nothing.
      throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "more than "
          + MAX_CONSECUTIVE_EMPTY_DATA_FRAMES + " consecutive DATA frames without payload");
    }
    chargeConnectionWindow(flowControlledBytes);
    if (flowControlledBytes > 0 && connectionFlow.windowBytes() == 0) {
      conn.counters.peerFilledConnectionWindow();
    }
  }

  /** Charges an inbound DATA frame to the connection window (RFC 9113 §6.9.1). */
  private void chargeConnectionWindow(int flowControlledBytes) throws Http2ConnectionError {
    int windowBytes = connectionFlow.windowBytes();
    if (!connectionFlow.tryCharge(flowControlledBytes)) {
      throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR,
          "connection flow-control window exceeded by " + (flowControlledBytes - windowBytes)
              + " bytes");
    }
  }

  /**
   * Returns consumed (or discarded) bytes to the connection window, with a WINDOW_UPDATE by
   * {@link InboundFlow}'s rule, so a slow application bounds what the peer can make us buffer.
   */
  void returnBytes(int bytes) {
    if (bytes <= 0 || conn.closed) {
      return;
    }
    int update = connectionFlow.consume(bytes);
    if (update > 0) {
      conn.sendControl(new ControlFrame.WindowUpdate(0, update));
    }
  }

  /**
   * Channelz's view of the connection windows. Read through {@code getStats()}, which runs on
   * the loop thread, so the plain fields are safe to read here.
   */
  @Override
  public io.grpc.internal.TransportTracer.FlowControlWindows read() {
    return flowControlWindows();
  }

  /** Channelz's view (also {@link #read}, which the transport tracer calls: no reader object). */
  io.grpc.internal.TransportTracer.FlowControlWindows flowControlWindows() {
    return new io.grpc.internal.TransportTracer.FlowControlWindows(
        connectionFlow.windowBytes(), conn.writer.connectionWindowBytes());
  }

  /** WINDOW_UPDATE from the peer: the flood rule, then the connection's or the stream's window. */
  void onWindowUpdate(int streamId, int increment)
      throws Http2ConnectionError, Http2StreamError {
    LoopyWriter writer = conn.writer;
    if (++windowUpdatesReceived > 2 * writer.dataFramesWritten() + WINDOW_UPDATE_ALLOWANCE) {
      // A peer acknowledges our DATA with at most a stream and a connection update per frame;
      // a stream of updates answering nothing is a flood that only costs us.
      throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "WINDOW_UPDATE flood: "
          + windowUpdatesReceived + " frames for " + writer.dataFramesWritten()
          + " DATA frames sent");
    }
    if (streamId == 0) {
      if (!writer.updateConnectionWindow(increment)) {
        // RFC 9113 §6.9.1: a window above 2^31-1 is a FLOW_CONTROL_ERROR.
        throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR,
            "connection window overflow");
      }
      conn.requestFlush();
      return;
    }
    StreamRules.onStreamWindowUpdate(conn, streamId, increment);
  }
}
