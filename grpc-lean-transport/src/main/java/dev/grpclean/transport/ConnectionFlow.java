package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;
import dev.grpclean.transport.frame.Settings;

/**
 * Connection-level flow control of one {@link Http2Connection} and the two flood rules that ride
 * on it. Receive side: the connection window (RFC 9113 §6.9) is an {@link InboundFlow} charged by
 * every DATA frame and given back, with WINDOW_UPDATE by the same half-window rule as a stream's,
 * as the application consumes. Send side: WINDOW_UPDATE raises the writer's connection window (a
 * stream's goes to {@link StreamRules#onStreamWindowUpdate}); the writer owns the send windows.
 * Floods: DATA frames that carry nothing, WINDOW_UPDATEs that answer no DATA. Growth: with
 * automatic flow control ({@link TransportSettings#autoFlowControl}) a {@link BdpEstimator} times
 * PINGs against received DATA and the receive windows grow to the measured bandwidth-delay product
 * ({@link #onPingAck}).
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
  /**
   * PING payload of the BDP probes: "leanBDPp". Apart from grpc-core's keepalive and user pings
   * (random payloads) and the stats probes ({@link ConnectionStatsGroup#ROUND_TRIP_PROBE_PING}).
   */
  static final long BDP_PING = 0x6c65616e42445070L;

  /**
   * Window growth, or null: growth is off with a fixed window ({@code flowControlWindow(n)}), on a
   * server (its PING acks are not routed here), and under a memory budget, which owns the windows
   * ({@link ConnectionBudget} restricts them under pressure; growth must never undo that).
   */
  @javax.annotation.Nullable private final BdpEstimator bdp;
  /** The receive window new streams start with, and SETTINGS_INITIAL_WINDOW_SIZE we announced. */
  private int streamWindowBytes;
  private int emptyDataFrames;
  private long windowUpdatesReceived;

  ConnectionFlow(Http2Connection conn, int configuredWindowBytes) {
    this.conn = conn;
    this.connectionFlow = new InboundFlow(FrameType.DEFAULT_INITIAL_WINDOW, configuredWindowBytes);
    this.streamWindowBytes = configuredWindowBytes;
    TransportSettings config = conn.config;
    this.bdp = config.autoFlowControl && conn.connectionBudget == null
            && config.maxFlowControlWindowBytes > configuredWindowBytes
        ? new BdpEstimator(config.maxFlowControlWindowBytes) : null;
  }

  /** The receive window a new stream starts with: the configured one, or what growth made it. */
  int streamWindowBytes() {
    return streamWindowBytes;
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
    // A BDP PING only while at least a quarter of the connection window is in flight or held:
    // below that the window cannot be what limits the sender, and small calls cost no PINGs.
    if (bdp != null && flowControlledBytes > 0
        && bdp.onData(flowControlledBytes, connectionFlow.targetWindowBytes()
            - connectionFlow.windowBytes() >= connectionFlow.targetWindowBytes() / 4)
        && !conn.closed) {
      conn.sendControl(new ControlFrame.Ping(false, BDP_PING));
      bdp.pingSent(System.nanoTime());
    }
  }

  /**
   * A PING ack arrived: if it answers our BDP PING and completes a round of samples that says a
   * larger window pays (see {@link BdpEstimator}), every receive window grows to the estimator's
   * target: the connection's by a WINDOW_UPDATE, the streams' by SETTINGS_INITIAL_WINDOW_SIZE
   * (RFC 9113 §6.9.2: the peer moves every stream's send window by the difference). Ours move
   * at once, before the peer's: until the peer reads the SETTINGS our windows are only larger
   * than the ones it sends against, so nothing it sends can overrun them, and after that both
   * views agree.
   */
  void onPingAck(long payload) {
    if (bdp == null || payload != BDP_PING || conn.closed) {
      return;
    }
    int target = bdp.onPingAck(System.nanoTime(), streamWindowBytes);
    if (target > streamWindowBytes) {
      growWindows(target);
    }
  }

  private void growWindows(int target) {
    int delta = target - streamWindowBytes;
    streamWindowBytes = target;
    conn.sendSettings(new Settings().set(Settings.INITIAL_WINDOW_SIZE, target));
    for (H2Stream s : conn.streams.values()) {
      s.inbound().raiseWindow(delta);
    }
    int connectionDelta = target - connectionFlow.targetWindowBytes();
    if (connectionDelta > 0) {
      connectionFlow.raiseWindow(connectionDelta);
      conn.sendControl(new ControlFrame.WindowUpdate(0, connectionDelta));
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
