package dev.grpclean.transport;

import dev.grpclean.transport.frame.Http2StreamError;
import java.nio.ByteBuffer;

/**
 * One open HTTP/2 stream as {@link Http2Connection}'s per-stream rules see it: its id, its
 * receive window, its send side and whether the peer has ended it. The connection keeps every
 * open stream in one map of this type and applies the frame rules (DATA accounting, WINDOW_UPDATE,
 * SETTINGS_INITIAL_WINDOW_SIZE deltas, RST_STREAM, stream errors, close) to it once, for both
 * sides; the implementations are a client call ({@link LeanClientStream.State}), a server call
 * ({@link LeanServerStream.State}) and a request the server answers without gRPC
 * ({@link HttpErrorStream}).
 *
 * <p>Confined to the connection's loop thread.
 */
interface H2Stream {
  int id();

  /** What the peer may still send on this stream. */
  InboundFlow inbound();

  /** The writer's view of this stream: queued DATA, send window, END_STREAM. */
  OutboundStream outbound();

  /** Whether the peer ended its side (END_STREAM received). */
  boolean isRemoteClosed();

  /** The peer's END_STREAM arrived. */
  void markRemoteClosed();

  /**
   * Takes a DATA payload that passed flow control: the stream window is charged and padding is
   * already consumed. Borrows {@code data} for the call only. Returns how many of its bytes were
   * consumed at once (a stream that discards its body): the connection returns those to its
   * window; 0 when the application consumes them later ({@link StreamRules#onBytesConsumed}).
   */
  int deliverData(ByteBuffer data, boolean endStream) throws Http2StreamError;

  /**
   * The connection's memory budget fell below its pressure mark: a stream that reported
   * {@code isReady() == false} because of it tells its listener it is ready again.
   */
  default void budgetAvailable() {
    BudgetHold hold = budgetHold();
    if (hold != null) {
      hold.release();
    }
  }

  /** What holds this stream's writer under memory pressure; null without a budget. */
  @javax.annotation.Nullable
  default BudgetHold budgetHold() {
    return null;
  }

  /** Inbound bytes this stream holds under the memory budget; null without a budget. */
  @javax.annotation.Nullable
  default BudgetAccount inboundAccount() {
    return null;
  }
}
