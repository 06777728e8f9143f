package dev.grpclean.transport;

import com.google.errorprone.annotations.CheckReturnValue;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2StreamError;

/**
 * One receive window (RFC 9113 §6.9), a stream's or the connection's (a second instance in
 * {@link Http2Connection}): what the peer may still send, what was consumed but not yet
 * announced, and what arrived but is unconsumed (a stream's is returned to the connection window
 * when it closes, so closed streams never shrink it). Receive-side flow control lives here only.
 *
 * <p>Confined to the connection's loop thread.
 */
final class InboundFlow {
  /**
   * The window the update rule is based on: WINDOW_UPDATE once half of it is consumed. Raised by
   * {@link #raiseWindow} when the window grows.
   */
  private int targetWindowBytes;
  private int windowBytes;
  private int unackedBytes;
  private int unconsumedBytes;
  /** Consumed bytes are kept back instead of announced (the memory budget restricts windows). */
  private boolean updatesHeld;
  /** Window granted beyond the rule while restricted ({@link #grant}). */
  private int grantedBytes;
  /** Window the peer holds beyond the rule; taken out of the next updates. */
  private int surplusBytes;

  InboundFlow(int initialWindowBytes) {
    this(initialWindowBytes, initialWindowBytes);
  }

  /**
   * A window that starts at {@code windowBytes} and is raised to {@code targetWindowBytes} by a
   * WINDOW_UPDATE the owner sends ({@link #grow}): the connection's, which RFC 9113 §6.9.2
   * starts at 65,535 whatever SETTINGS say. Updates follow the target.
   */
  InboundFlow(int windowBytes, int targetWindowBytes) {
    this.targetWindowBytes = targetWindowBytes;
    this.windowBytes = windowBytes;
  }

  /** Raises the window by {@code bytes}, announced by a WINDOW_UPDATE the caller sends. */
  void grow(int bytes) {
    windowBytes += bytes;
  }

  /**
   * The window grew by {@code bytes} (receive-window growth, {@link BdpEstimator}): the peer may
   * send that much more, and the update rule follows the larger window. The caller announces it
   * (a connection WINDOW_UPDATE, or SETTINGS_INITIAL_WINDOW_SIZE for the streams).
   */
  void raiseWindow(int bytes) {
    grow(bytes);
    targetWindowBytes += bytes;
  }

  /** The window the update rule is based on (the configured one, or what growth raised it to). */
  int targetWindowBytes() {
    return targetWindowBytes;
  }

  /** Charges a received DATA frame; RFC 9113 §6.9.1: overrun is a FLOW_CONTROL_ERROR. */
  void charge(int streamId, int flowControlledBytes) throws Http2StreamError {
    int before = windowBytes;
    if (!tryCharge(flowControlledBytes)) {
      throw new Http2StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR,
          "stream flow-control window exceeded by " + (flowControlledBytes - before)
              + " bytes");
    }
  }

  /** Charges a received DATA frame; returns false, charging nothing, if it overruns the window. */
  @CheckReturnValue
  boolean tryCharge(int flowControlledBytes) {
    if (flowControlledBytes > windowBytes) {
      return false;
    }
    windowBytes -= flowControlledBytes;
    unconsumedBytes += flowControlledBytes;
    return true;
  }

  /**
   * The application consumed {@code bytes}. Returns the WINDOW_UPDATE increment to send now, or
   * 0: updates go out once half the window is consumed, like grpc-netty and grpc-okhttp, and none
   * while updates are held ({@link #holdUpdates}).
   */
  int consume(int bytes) {
    bytes = Math.min(bytes, unconsumedBytes);
    unconsumedBytes -= bytes;
    unackedBytes += bytes;
    if (!updatesHeld && unackedBytes >= targetWindowBytes / 2) {
      return takeUpdate();
    }
    return 0;
  }

  private int takeUpdate() {
    int update = unackedBytes;
    unackedBytes = 0;
    // Window the peer got beyond the rule (see applyInitialDelta) is taken out of updates.
    int absorbed = Math.min(update, surplusBytes);
    surplusBytes -= absorbed;
    update -= absorbed;
    windowBytes += update;
    return update;
  }

  // Memory budget (ConnectionBudget): while a connection restricts its windows, a stream's
  // consumed bytes are not announced unless the stream is let through.

  /** Whether consumed bytes are announced ({@code false}) or kept back ({@code true}). */
  void holdUpdates(boolean held) {
    updatesHeld = held;
  }

  /** Stops holding updates; returns the update the rule allows now (0 if none). */
  int resumeUpdates() {
    updatesHeld = false;
    return unackedBytes >= targetWindowBytes / 2 ? takeUpdate() : 0;
  }

  /** Raises the window by {@code bytes} beyond the rule, announced by the caller's update. */
  int grant(int bytes) {
    windowBytes += bytes;
    grantedBytes += bytes;
    return bytes;
  }

  /** What {@link #grant} added and no later SETTINGS raise has absorbed. */
  int grantedBytes() {
    return grantedBytes;
  }

  /**
   * A SETTINGS_INITIAL_WINDOW_SIZE change of ours took effect (the peer acknowledged it): RFC 9113
   * §6.9.2, every stream window moves by {@code delta}, and may become negative. A raise that
   * repeats what {@link #grant} already gave is absorbed from later updates, so the stream ends up
   * with the window it would have had without the restriction.
   */
  void applyInitialDelta(int delta) {
    windowBytes += delta;
    if (delta > 0 && grantedBytes > 0) {
      int absorbed = Math.min(delta, grantedBytes);
      grantedBytes -= absorbed;
      surplusBytes += absorbed;
    }
  }

  /** Bytes received and not yet consumed by the application. */
  int unconsumedBytes() {
    return unconsumedBytes;
  }

  /** Bytes received but never consumed; zeroes them (the stream is gone). */
  int takeUnconsumed() {
    int b = unconsumedBytes;
    unconsumedBytes = 0;
    return b;
  }

  int windowBytes() {
    return windowBytes;
  }
}
