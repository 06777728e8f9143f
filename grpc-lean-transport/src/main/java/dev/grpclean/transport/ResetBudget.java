package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2ConnectionError;
import java.util.concurrent.TimeUnit;

/**
 * Rapid Reset defence (CVE-2023-44487, and its "MadeYouReset" variant): counts the streams of one
 * connection that end in a reset, by the client (RST_STREAM on a stream we had opened for it) or
 * by us (a stream error the client provoked), in fixed windows. Every such stream made the server
 * parse headers and start a call. A window allows {@code maxResets} of them plus one for every
 * stream that completed normally in it, so a busy client that cancels a share of its calls
 * (deadlines, hedging, cancel-after-begin) never trips it, while a peer whose streams are almost
 * all resets is limited to {@code maxResets} per window; past that the connection goes away with
 * ENHANCE_YOUR_CALM.
 *
 * <p>Confined to the connection's loop thread.
 */
final class ResetBudget {
  /** Resets per window beyond the completed streams, by default: far below a flood. */
  static final int DEFAULT_MAX_RESETS = 1000;
  static final long DEFAULT_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final int maxResets;
  private final long windowNanos;
  private int resets;
  private int completed;
  private long windowStartNanos;
  private boolean windowOpen;

  /** {@code maxResets} of 0 turns the budget off. */
  ResetBudget(int maxResets, long windowNanos) {
    this.maxResets = maxResets;
    this.windowNanos = windowNanos;
  }

  /** Counts one stream that completed normally: it earns one reset in this window. */
  void onStreamCompleted(long nowNanos) {
    if (maxResets == 0 || !windowOpen) {
      return; // Credit only matters in a window that resets opened.
    }
    if (nowNanos - windowStartNanos > windowNanos) {
      windowOpen = false;
      return;
    }
    completed++;
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
    if (!windowOpen || nowNanos - windowStartNanos > windowNanos) {
      windowOpen = true;
      windowStartNanos = nowNanos;
      resets = 0;
      completed = 0;
    }
    if (++resets > (long) maxResets + completed) {
      throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many reset streams: "
          + resets + " against " + completed + " completed in "
          + TimeUnit.NANOSECONDS.toMillis(windowNanos) + " ms (maxRstFramesPerWindow " + maxResets
          + ")");
    }
  }
}
