package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2ConnectionError;
import java.util.concurrent.TimeUnit;

/**
 * Rapid Reset defence (CVE-2023-44487, and its "MadeYouReset" variant): counts the streams of one
 * connection that end in a reset, by the client (RST_STREAM on a stream we had opened for it) or
 * by us (a stream error the client provoked), in fixed windows. Every such stream made the server
 * parse headers and start a call; past the budget the connection goes away with
 * ENHANCE_YOUR_CALM, so a client cannot keep the server busy with streams it never lets finish.
 *
 * <p>Counting starts with the first reset of a window, so a connection that never resets a stream
 * costs one read of the clock per connection, not per stream.
 *
 * <p>Confined to the connection's loop thread.
 */
final class ResetBudget {
  /** Allowance per window by default: far above a client that cancels its calls, far below a flood. */
  static final int DEFAULT_MAX_RESETS = 1000;
  static final long DEFAULT_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final int maxResets;
  private final long windowNanos;
  private int resets;
  private long windowStartNanos;

  /** {@code maxResets} of 0 turns the budget off. */
  ResetBudget(int maxResets, long windowNanos) {
    this.maxResets = maxResets;
    this.windowNanos = windowNanos;
  }

  /**
   * Counts one reset stream at {@code nowNanos}.
   *
   * @throws Http2ConnectionError ENHANCE_YOUR_CALM once the window's budget is spent
   */
  void onStreamReset(long nowNanos) throws Http2ConnectionError {
    if (maxResets == 0) {
      return;
    }
    if (resets == 0 || nowNanos - windowStartNanos > windowNanos) {
      windowStartNanos = nowNanos;
      resets = 0;
    }
    if (++resets > maxResets) {
      throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many reset streams: more "
          + "than " + maxResets + " in " + TimeUnit.NANOSECONDS.toMillis(windowNanos)
          + " ms (maxRstFramesPerWindow)");
    }
  }
}
