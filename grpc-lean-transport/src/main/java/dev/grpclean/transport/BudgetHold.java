package dev.grpclean.transport;

import java.util.function.IntConsumer;

/**
 * Turns one stream's {@code isReady()} false while the memory budget is under pressure, for client
 * and server streams alike. grpc-core's {@code isReady()} is final, so the hold is made of
 * {@link #HOLD_BYTES} phantom "queued" bytes in grpc-core's onReady accounting
 * ({@code onSendingBytes}), given back ({@code onSentBytes}, which fires onReady) when the
 * connection reports the budget below its pressure mark. Those two grpc-core methods are
 * protected, so each stream hands them in as callbacks.
 *
 * <p>Confined to the connection's loop thread.
 */
final class BudgetHold {
  /**
   * Phantom bytes that make grpc-core's isReady() false while the memory budget is under
   * pressure: far above its 32 KiB onReady threshold, far below int overflow.
   */
  static final int HOLD_BYTES = 1 << 30;

  private final LeanMemoryBudget budget;
  private final IntConsumer onSendingBytes;
  private final IntConsumer onSentBytes;
  /** Asks the connection to call {@link H2Stream#budgetAvailable} below the pressure mark. */
  private final Runnable awaitBudget;
  private boolean held;

  /**
   * {@code onSendingBytes} and {@code onSentBytes} are the stream's grpc-core onReady accounting
   * methods of those names; {@code awaitBudget} asks the stream's connection for the wake-up
   * ({@link Http2Connection#awaitBudget}).
   */
  BudgetHold(LeanMemoryBudget budget, IntConsumer onSendingBytes, IntConsumer onSentBytes,
      Runnable awaitBudget) {
    this.budget = budget;
    this.onSendingBytes = onSendingBytes;
    this.onSentBytes = onSentBytes;
    this.awaitBudget = awaitBudget;
  }

  /**
   * After the application handed the stream a message: while the budget is under pressure, holds
   * the writer (isReady() false) and asks the connection for the wake-up. Once per hold.
   */
  void holdIfUnderPressure() {
    if (!held && budget.isUnderPressure()) {
      held = true;
      onSendingBytes.accept(HOLD_BYTES);
      awaitBudget.run();
    }
  }

  /** The budget fell below its pressure mark: a held writer is ready again. */
  void release() {
    if (held) {
      held = false;
      onSentBytes.accept(HOLD_BYTES);
    }
  }

  /** Whether the writer is held now. */
  boolean isHeld() {
    return held;
  }
}
