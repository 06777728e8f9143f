package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2StreamError;

/**
 * One stream's receive window (RFC 9113 §6.9): what the peer may still send, what the
 * application has consumed but we have not yet announced, and what arrived but is unconsumed
 * (returned to the connection window when the stream closes, so closed streams never shrink it).
 *
 * <p>Confined to the connection's loop thread.
 */
final class InboundFlow {
  private final int initialWindowBytes;
  private int windowBytes;
  private int unackedBytes;
  private int unconsumedBytes;

  InboundFlow(int initialWindowBytes) {
    this.initialWindowBytes = initialWindowBytes;
    this.windowBytes = initialWindowBytes;
  }

  /** Charges a received DATA frame; RFC 9113 §6.9.1: overrun is a FLOW_CONTROL_ERROR. */
  void charge(int streamId, int flowControlledBytes) throws Http2StreamError {
    if (flowControlledBytes > windowBytes) {
      throw new Http2StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR,
          "stream flow-control window exceeded by " + (flowControlledBytes - windowBytes)
              + " bytes");
    }
    windowBytes -= flowControlledBytes;
    unconsumedBytes += flowControlledBytes;
  }

  /**
   * The application consumed {@code bytes}. Returns the WINDOW_UPDATE increment to send now, or
   * 0: updates go out once half the window is consumed, like grpc-netty and grpc-okhttp.
   */
  int consume(int bytes) {
    bytes = Math.min(bytes, unconsumedBytes);
    unconsumedBytes -= bytes;
    unackedBytes += bytes;
    if (unackedBytes >= initialWindowBytes / 2) {
      int update = unackedBytes;
      windowBytes += update;
      unackedBytes = 0;
      return update;
    }
    return 0;
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
