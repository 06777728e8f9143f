package dev.grpclean.transport;

import java.util.concurrent.atomic.AtomicLong;
import javax.annotation.Nullable;

/**
 * Inbound bytes one stream or one connection holds under a {@link LeanMemoryBudget}: what its
 * DATA copies ({@link InboundData}) charged and grpc-core has not closed yet. A stream's account
 * rolls up into its connection's, which charges the budget. The connection uses its total to
 * decide whether to pause reading, and a stream's to pick which stream to fail when the budget
 * stalls.
 *
 * <p>Thread-safe: charged on the connection's loop thread, released on whatever thread grpc-core
 * closes a buffer on.
 */
final class BudgetAccount {
  private final LeanMemoryBudget budget;
  @Nullable private final BudgetAccount parent;
  /** Run (on the releasing thread) whenever the account falls to zero; must not block. */
  @Nullable private final Runnable onEmpty;
  private final AtomicLong held = new AtomicLong();

  private BudgetAccount(LeanMemoryBudget budget, @Nullable BudgetAccount parent,
      @Nullable Runnable onEmpty) {
    this.budget = budget;
    this.parent = parent;
    this.onEmpty = onEmpty;
  }

  /** A connection's account; {@code onEmpty} runs whenever its held bytes fall to zero. */
  static BudgetAccount forConnection(LeanMemoryBudget budget, Runnable onEmpty) {
    return new BudgetAccount(budget, null, onEmpty);
  }

  /**
   * A stream's account under {@code connection}'s; {@code onEmpty} (may be null) runs whenever its
   * held bytes fall to zero, after the connection's account was released.
   */
  static BudgetAccount forStream(BudgetAccount connection, @Nullable Runnable onEmpty) {
    return new BudgetAccount(connection.budget, connection, onEmpty);
  }

  /** Charges bytes already held (unconditionally: they were read; the connection pauses). */
  void charge(long bytes) {
    held.addAndGet(bytes);
    if (parent != null) {
      parent.charge(bytes);
    } else {
      budget.reserve(bytes);
    }
  }

  void release(long bytes) {
    long left = held.addAndGet(-bytes);
    if (parent != null) {
      parent.release(bytes);
    } else {
      budget.release(bytes);
    }
    if (left == 0 && onEmpty != null) {
      onEmpty.run();
    }
  }

  long heldBytes() {
    return held.get();
  }
}
