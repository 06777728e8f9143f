package dev.grpclean.transport;

import io.grpc.Status;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.annotation.Nullable;

/**
 * One connection's side of a {@link LeanMemoryBudget}: the account of the inbound DATA its streams
 * hold, the decision to stop reading its socket under pressure and to resume, the waker that tells
 * its writers (streams held by {@link BudgetHold}) that memory came back, and the stall breaker
 * that fails the stream holding the most received bytes when memory does not come back at all.
 * {@link Http2Connection} has one only when a budget is configured; without one, its paths test a
 * null field and nothing else.
 *
 * <p>Confined to the connection's loop thread, except {@link #awaitBudget} (any thread: streams
 * call it from the application's write path) and the account's release callback, which runs on
 * whatever thread grpc-core closes a buffer on and only reads the volatile pause flag and queues a
 * task to the loop.
 */
final class ConnectionBudget {
  /**
   * How long a paused connection waits for memory to come back before it fails its stream
   * holding the most inbound bytes: 250 ms, many round trips, yet short enough that a stall is
   * broken before peers time out. Without it, connections whose streams each hold part of a
   * message (grpc-core releases a message's bytes only once it is whole) would wait for each
   * other forever.
   */
  static final long STALL_NANOS = 250_000_000L;

  final LeanMemoryBudget budget;
  /** Inbound DATA this connection's streams hold; stream accounts roll up into it. */
  final BudgetAccount inboundAccount;
  private final Http2Connection connection;
  /**
   * Socket reads stopped because the budget is under pressure ({@link #pauseReads}). Written on
   * the loop thread; volatile for the account's release callback.
   */
  private volatile boolean readsPaused;
  @Nullable private ScheduledFuture<?> stallTimer;
  /** The budget's released total when the stall timer was set: progress shows as a rise. */
  private long releasedAtStallCheck;
  /** A waker is queued on the budget; set by any thread, cleared by the waker. */
  private final AtomicBoolean waiterQueued = new AtomicBoolean();
  private final Runnable waker;

  private ConnectionBudget(Http2Connection connection, LeanMemoryBudget budget) {
    this.connection = connection;
    this.budget = budget;
    this.inboundAccount = BudgetAccount.forConnection(budget, () -> {
      if (readsPaused) {
        connection.loop.executeOrDrop(this::onBudgetAvailable);
      }
    });
    this.waker = () -> {
      waiterQueued.set(false);
      connection.loop.executeOrDrop(this::onBudgetAvailable);
    };
  }

  /** The budget side of {@code connection}, or null without a budget. */
  @Nullable
  static ConnectionBudget of(Http2Connection connection, @Nullable LeanMemoryBudget budget) {
    return budget == null ? null : new ConnectionBudget(connection, budget);
  }

  /** A new stream's inbound account, under this connection's. */
  BudgetAccount newStreamAccount() {
    return BudgetAccount.forStream(inboundAccount);
  }

  /**
   * Loop thread, after a DATA frame was delivered to its stream: under pressure, a connection
   * that holds received bytes nobody consumed yet stops reading.
   */
  void afterDataDelivered() {
    if (!readsPaused && budget.isUnderPressure() && inboundAccount.heldBytes() > 0) {
      pauseReads();
    }
  }

  /**
   * The budget is under pressure and this connection holds inbound bytes nobody consumed yet:
   * stop reading its socket after the current read (the socket layer checks between reads), so
   * the connections that hold memory take no more. Outbound traffic and what is already queued
   * still flow. Resumed by {@link #onBudgetAvailable} once grpc-core has released everything this
   * connection received, or once the budget falls below its pressure mark.
   */
  private void pauseReads() {
    readsPaused = true;
    connection.socket.setReadInterest(false);
    budget.connectionPaused();
    scheduleStallCheck();
    awaitBudget();
    if (inboundAccount.heldBytes() == 0) {
      // Released on another thread before it could see the pause: nothing will call back.
      connection.loop.executeOrDrop(this::onBudgetAvailable);
    }
  }

  private void resumeReads() {
    readsPaused = false;
    budget.connectionResumed();
    cancelStallTimer();
    if (!connection.closed) {
      connection.socket.setReadInterest(true);
    }
  }

  private void cancelStallTimer() {
    if (stallTimer != null) {
      stallTimer.cancel(false);
      stallTimer = null;
    }
  }

  private void scheduleStallCheck() {
    releasedAtStallCheck = budget.releasedTotalBytes();
    stallTimer = connection.scheduler().schedule(
        () -> connection.loop.executeOrDrop(this::onStallCheck), STALL_NANOS,
        TimeUnit.NANOSECONDS);
  }

  /**
   * Still paused, the budget still under pressure, and less than a sixteenth of it released since
   * the last check: the memory is not coming back by itself. Fail the stream that holds the most
   * received bytes with RESOURCE_EXHAUSTED (RST_STREAM CANCEL to the peer), which gives its bytes
   * back, and check again later.
   */
  private void onStallCheck() {
    stallTimer = null;
    if (connection.closed || !readsPaused) {
      return;
    }
    if (!budget.isUnderPressure() || inboundAccount.heldBytes() == 0) {
      onBudgetAvailable();
      return;
    }
    if (budget.releasedTotalBytes() - releasedAtStallCheck >= budget.limitBytes() / 16) {
      // Memory is coming back, only slowly (others' calls complete): not a stall.
      scheduleStallCheck();
      return;
    }
    H2Stream largest = null;
    long largestBytes = 0;
    for (H2Stream s : connection.streams.values()) {
      BudgetAccount a = s.inboundAccount();
      long held = a == null ? 0 : a.heldBytes();
      if (held > largestBytes) {
        largest = s;
        largestBytes = held;
      }
    }
    if (largest != null) {
      budget.streamReclaimed();
      connection.failForBudget(largest, Status.RESOURCE_EXHAUSTED.withDescription(
          "grpc-lean memory budget of " + budget.limitBytes() + " bytes stalled with "
              + largestBytes + " bytes of this call unconsumed (memoryBudget / -D"
              + LeanMemoryBudget.PROPERTY + ")"));
    }
    if (readsPaused && !connection.closed) {
      scheduleStallCheck();
    }
  }

  /**
   * Asks the budget to wake this connection ({@link #onBudgetAvailable}) once it falls below its
   * pressure mark; at most one waker is queued. Any thread (streams call it from isReady()).
   */
  void awaitBudget() {
    if (waiterQueued.compareAndSet(false, true)) {
      budget.runWhenBelowPressure(waker);
    }
  }

  /**
   * The budget fell below its pressure mark, or this connection's held bytes fell to zero: resume
   * reads and tell blocked writers.
   */
  private void onBudgetAvailable() {
    if (connection.closed) {
      return;
    }
    if (readsPaused && (inboundAccount.heldBytes() == 0 || !budget.isUnderPressure())) {
      resumeReads();
    }
    if (budget.isUnderPressure()) {
      // Taken again by others before this ran: wait for the next release.
      awaitBudget();
      return;
    }
    for (H2Stream s : connection.streams.values().toArray(new H2Stream[0])) {
      s.budgetAvailable();
    }
  }

  /** Loop thread, as the connection closes: a pause ends, the stall timer stops. */
  void close() {
    if (readsPaused) {
      readsPaused = false;
      budget.connectionResumed();
    }
    cancelStallTimer();
  }
}
