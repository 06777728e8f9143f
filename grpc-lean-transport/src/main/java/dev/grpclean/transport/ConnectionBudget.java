package dev.grpclean.transport;

import dev.grpclean.transport.frame.Settings;
import io.grpc.Status;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.annotation.Nullable;

/**
 * One connection's side of a {@link LeanMemoryBudget}: the account of the inbound DATA its streams
 * hold, HTTP/2 flow control used to bound what the peer may still send when the budget is under
 * pressure, a read pause as the backstop at the limit, the waker that tells its writers (streams
 * held by {@link BudgetHold}) that memory came back, and the breaker that fails as few streams as
 * needed when their partial messages fill the budget and none can complete.
 * {@link Http2Connection} has one only when a budget is configured; without one, its paths test a
 * null field and nothing else.
 *
 * <h2>Under pressure: restricted windows, not a stopped socket</h2>
 * grpc-core gives a message's bytes back only once the whole message has arrived, and it reports
 * the bytes of a partial message as consumed, so ordinary flow control lets a peer fill memory
 * with partial messages of many streams (1,000 uploads of 1 MiB each hold 1 GiB). Once the budget
 * reaches its pressure mark and this connection holds inbound bytes, it
 * <ol>
 *   <li>sends SETTINGS_INITIAL_WINDOW_SIZE = {@value #RESTRICTED_WINDOW_BYTES} (RFC 9113 §6.9.2:
 *       every stream's window drops by the difference, and may become negative), and stops
 *       announcing consumed bytes of its streams; new streams may still send a small first message
 *       in the restricted window, so well-behaved small calls keep working;</li>
 *   <li>lets at most {@value #MAX_LEADERS} streams through at a time (the "leaders"): those that
 *       hold a partial message, every byte received consumed by the application (so more bytes
 *       complete a message rather than wait in a queue), the most held bytes first (closest to
 *       finishing); a leader gets its window back and normal updates while the budget has at
 *       least {@link #admitFreeBytes} left, and leaves when all its bytes have been released;</li>
 *   <li>keeps reading its socket, so control frames, leaders and small calls progress; the
 *       connection window keeps its normal updates (the stream windows are the bound);</li>
 *   <li>restores the configured initial window when the budget falls below its pressure mark,
 *       and announces every consumed byte it kept back.</li>
 * </ol>
 * What the peer may send after the pressure mark is what it had already been granted: at most the
 * connection window in flight until the SETTINGS arrives, the restricted window per new stream,
 * and the leaders' windows. As a backstop, a connection that holds inbound bytes stops reading its
 * socket once the budget is at its limit (resumed below the pressure mark or when its held bytes
 * fall to zero), so inbound charges pass the limit by at most one socket read per connection.
 *
 * <h2>When nothing can complete</h2>
 * If, for {@value #STALL_NANOS} ns, the connection is restricted with no leader making progress
 * (nothing received and less than a sixteenth of the budget released), or paused at the limit with
 * no memory coming back, partial messages fill the budget and none can finish: the streams of this
 * connection holding the most bytes are failed with RESOURCE_EXHAUSTED (RST_STREAM CANCEL to the
 * peer), as few as free {@link #admitFreeBytes}, never the last one holding bytes unless it alone
 * cannot fit. Each counts in {@link LeanMemoryBudget#streamsReclaimed()}.
 *
 * <p>Confined to the connection's loop thread, except {@link #awaitBudget} (any thread: streams
 * call it from the application's write path) and the accounts' release callbacks, which run on
 * whatever thread grpc-core closes a buffer on, read volatile flags and queue a task to the loop.
 */
final class ConnectionBudget {
  /**
   * How long a connection may hold partial messages without any progress before it fails some of
   * them: 250 ms, many round trips, yet short enough that a stall is broken before peers time out.
   */
  static final long STALL_NANOS = 250_000_000L;
  /**
   * The initial stream window while restricted: 16 KiB, one default-sized DATA frame, so a new
   * call's small request still goes through, while 1,000 new streams can add at most 16 MiB.
   */
  static final int RESTRICTED_WINDOW_BYTES = 16 << 10;
  /**
   * Streams let through at once per restricted connection: enough to keep the link busy while a
   * leader's application is slow, few enough that their windows stay small next to a budget.
   */
  static final int MAX_LEADERS = 4;

  final LeanMemoryBudget budget;
  /** Inbound DATA this connection's streams hold; stream accounts roll up into it. */
  final BudgetAccount inboundAccount;
  private final Http2Connection connection;
  /** The stream window we advertise when not restricted. */
  private final int configuredWindowBytes;
  /**
   * What each leader sets aside in the budget ({@link LeanMemoryBudget#tryPromise}): a full stream
   * window, or an eighth of a budget smaller than eight windows.
   */
  final long leaderBytes;
  /**
   * Leaders are let through while charged plus promised bytes stay under seven eighths of the
   * limit: the last eighth stays for small calls, which the server refuses only at the limit.
   */
  private final long admitCeilingBytes;
  /** Windows are restricted once the budget is half used... */
  private final long restrictBytes;
  /** ...and restored once it is back under a quarter (hysteresis: no SETTINGS ping-pong). */
  private final long liftBytes;

  /**
   * Socket reads stopped at the budget's limit ({@link #pauseReads}). Written on the loop thread;
   * volatile for the account's release callback.
   */
  private volatile boolean readsPaused;
  /** Windows restricted (SETTINGS sent, maybe not yet acknowledged). Volatile for callbacks. */
  private volatile boolean restricted;
  /** The restricting SETTINGS was acknowledged: stream windows are small, leaders may be chosen. */
  private boolean restrictionInEffect;
  /** The initial stream window the peer has acknowledged: what new streams start with. */
  private int ackedInitialWindowBytes;
  /** Our SETTINGS_INITIAL_WINDOW_SIZE changes not yet acknowledged: {ordinal, value}. */
  private final ArrayDeque<long[]> pendingSettings = new ArrayDeque<>(2);
  private final List<H2Stream> leaders = new ArrayList<>(MAX_LEADERS);
  /** The budget's released total at the last fruitless search for a leader; -1 = search. */
  private long releasedAtLeaderSearch = -1;

  @Nullable private ScheduledFuture<?> stallTimer;
  /** The budget's released total when the stall timer was set: progress shows as a rise. */
  private long releasedAtStallCheck;
  /** Bytes delivered on this connection since the stall timer was set. */
  private long deliveredSinceStallCheck;
  /** A waker is queued on the budget; set by any thread, cleared by the waker. */
  private final AtomicBoolean waiterQueued = new AtomicBoolean();
  private final Runnable waker;
  /** A leader search is queued on the loop by a stream account that fell to zero. */
  private final AtomicBoolean searchQueued = new AtomicBoolean();
  private final Runnable streamEmptied;

  private ConnectionBudget(Http2Connection connection, LeanMemoryBudget budget) {
    this.connection = connection;
    this.budget = budget;
    this.configuredWindowBytes = connection.config.flowControlWindowBytes;
    this.ackedInitialWindowBytes = configuredWindowBytes;
    long limit = budget.limitBytes();
    this.leaderBytes = Math.min(configuredWindowBytes, Math.max(1, limit / 8));
    this.admitCeilingBytes = limit - limit / 8;
    this.restrictBytes = limit / 2;
    this.liftBytes = limit / 4;
    this.inboundAccount = BudgetAccount.forConnection(budget, () -> {
      if (readsPaused) {
        connection.loop.executeOrDrop(this::onBudgetAvailable);
      }
    });
    this.waker = () -> {
      waiterQueued.set(false);
      connection.loop.executeOrDrop(this::onBudgetAvailable);
    };
    this.streamEmptied = () -> {
      if (restricted && searchQueued.compareAndSet(false, true)) {
        connection.loop.executeOrDrop(() -> {
          searchQueued.set(false);
          releasedAtLeaderSearch = -1;
          admitLeaders();
        });
      }
    };
  }

  /** The budget side of {@code connection}, or null without a budget. */
  @Nullable
  static ConnectionBudget of(Http2Connection connection, @Nullable LeanMemoryBudget budget) {
    return budget == null ? null : new ConnectionBudget(connection, budget);
  }

  /** A new stream's inbound account, under this connection's. */
  BudgetAccount newStreamAccount() {
    return BudgetAccount.forStream(inboundAccount, streamEmptied);
  }

  /** The receive window a new stream starts with: the one the peer last acknowledged. */
  int initialWindowBytes() {
    return ackedInitialWindowBytes;
  }

  /** Whether this connection's stream windows are restricted now (tests, stats). */
  boolean isRestricted() {
    return restricted;
  }

  /**
   * Loop thread, after a DATA frame of {@code bytes} was delivered to its stream: at the limit a
   * connection holding received bytes stops reading; at the pressure mark it restricts its
   * windows; while restricted, leaders are chosen as memory allows.
   */
  void afterDataDelivered(int bytes) {
    deliveredSinceStallCheck += bytes;
    if (inboundAccount.heldBytes() == 0) {
      return;
    }
    if (!readsPaused && budget.isExhausted()) {
      pauseReads();
    }
    if (!restricted && pendingSettings.isEmpty() && budget.usedBytes() >= restrictBytes) {
      restrict();
    } else if (restrictionInEffect) {
      admitLeaders();
    }
  }

  /** Loop thread, before the application's consumed bytes of {@code s} are accounted. */
  void beforeConsume(H2Stream s) {
    if (restricted) {
      s.inbound().holdUpdates(!leaders.contains(s));
      // The stream may have become a candidate (everything it received consumed).
      releasedAtLeaderSearch = -1;
    }
  }

  // ---------------------------------------------------------------- restricting windows

  private void restrict() {
    restricted = true;
    budget.connectionRestricted();
    sendInitialWindow(RESTRICTED_WINDOW_BYTES);
    scheduleStallCheck();
    awaitBudget();
  }

  private void sendInitialWindow(int bytes) {
    long ordinal = connection.sendSettings(new Settings().set(Settings.INITIAL_WINDOW_SIZE, bytes));
    pendingSettings.add(new long[] {ordinal, bytes});
  }

  /** Loop thread: the peer acknowledged our {@code ackedCount}-th SETTINGS frame. */
  void onSettingsAcked(long ackedCount) {
    while (!pendingSettings.isEmpty() && pendingSettings.peek()[0] <= ackedCount) {
      int value = (int) pendingSettings.poll()[1];
      int delta = value - ackedInitialWindowBytes;
      ackedInitialWindowBytes = value;
      for (H2Stream s : connection.streams.values()) {
        s.inbound().applyInitialDelta(delta);
      }
      restrictionInEffect = value == RESTRICTED_WINDOW_BYTES && restricted;
    }
    if (connection.closed) {
      return;
    }
    maybeLift();
    if (restrictionInEffect) {
      releasedAtLeaderSearch = -1;
      admitLeaders();
    }
  }

  /** The budget is below its pressure mark: every stream gets its configured window back. */
  private void lift() {
    restricted = false;
    restrictionInEffect = false;
    dropLeaders();
    budget.connectionUnrestricted();
    sendInitialWindow(configuredWindowBytes);
    for (H2Stream s : connection.streams.values()) {
      announce(s, s.inbound().resumeUpdates());
    }
    if (!readsPaused) {
      cancelStallTimer();
    }
  }

  private void dropLeaders() {
    budget.unpromise(leaders.size() * leaderBytes);
    leaders.clear();
  }

  /**
   * Lifts the restriction if the budget is back under {@link #liftBytes}, even before the peer
   * acknowledged it (a peer that never does is not left without windows; a new restriction waits
   * for every ack, so SETTINGS cannot ping-pong).
   */
  private void maybeLift() {
    if (restricted && budget.usedBytes() < liftBytes) {
      lift();
    }
  }

  private void announce(H2Stream s, int increment) {
    if (increment > 0 && !s.isRemoteClosed()) {
      connection.sendControl(new ControlFrame.WindowUpdate(s.id(), increment));
    }
  }

  /**
   * Lets streams through while fewer than {@value #MAX_LEADERS} are and the budget has
   * {@link #admitFreeBytes} left: leaders that are gone or hold nothing leave first; then the
   * candidate holding the most bytes, every byte it received consumed, gets its window back.
   */
  private void admitLeaders() {
    if (!restrictionInEffect || connection.closed) {
      return;
    }
    for (int i = leaders.size() - 1; i >= 0; i--) {
      H2Stream s = leaders.get(i);
      BudgetAccount a = s.inboundAccount();
      if (connection.streams.get(s.id()) != s || a == null || a.heldBytes() == 0) {
        leaders.remove(i);
        budget.unpromise(leaderBytes);
        s.inbound().holdUpdates(true);
        releasedAtLeaderSearch = -1;
      }
    }
    long released = budget.releasedTotalBytes();
    if (leaders.size() >= MAX_LEADERS || released == releasedAtLeaderSearch) {
      return;
    }
    while (leaders.size() < MAX_LEADERS) {
      H2Stream best = null;
      long bestHeld = 0;
      for (H2Stream s : connection.streams.values()) {
        BudgetAccount a = s.inboundAccount();
        long held = a == null ? 0 : a.heldBytes();
        if (held > bestHeld && s.inbound().unconsumedBytes() == 0 && !s.isRemoteClosed()
            && !leaders.contains(s)) {
          best = s;
          bestHeld = held;
        }
      }
      if (best == null || !budget.tryPromise(leaderBytes, admitCeilingBytes)) {
        break;
      }
      leaders.add(best);
      InboundFlow flow = best.inbound();
      // Back to the configured window: the restriction took configured - restricted from it.
      int owed = configuredWindowBytes - RESTRICTED_WINDOW_BYTES - flow.grantedBytes();
      int increment = owed > 0 ? flow.grant(owed) : 0;
      announce(best, increment + flow.resumeUpdates());
    }
    releasedAtLeaderSearch = leaders.isEmpty() ? released : -1;
  }

  // ---------------------------------------------------------------- the backstop: paused reads

  /**
   * The budget is at its limit and this connection holds inbound bytes: stop reading its socket
   * after the current read (the socket layer checks between reads). Resumed by
   * {@link #onBudgetAvailable} once everything this connection received was released, or once the
   * budget falls below its pressure mark.
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
    if (!restricted) {
      cancelStallTimer();
    }
    if (!connection.closed) {
      connection.socket.setReadInterest(true);
    }
  }

  // ---------------------------------------------------------------- stalls

  private void cancelStallTimer() {
    if (stallTimer != null) {
      stallTimer.cancel(false);
      stallTimer = null;
    }
  }

  private void scheduleStallCheck() {
    if (stallTimer != null) {
      return;
    }
    releasedAtStallCheck = budget.releasedTotalBytes();
    deliveredSinceStallCheck = 0;
    stallTimer = connection.scheduler().schedule(
        () -> connection.loop.executeOrDrop(this::onStallCheck), STALL_NANOS,
        TimeUnit.NANOSECONDS);
  }

  /**
   * Restricted or paused, and since the last check nothing was delivered and less than a
   * sixteenth of the budget came back: the partial messages held here cannot complete. Fail the
   * streams holding the most, as few as free {@link #admitFreeBytes}, and check again later.
   */
  private void onStallCheck() {
    stallTimer = null;
    if (connection.closed || !(readsPaused || restricted)) {
      return;
    }
    if (readsPaused && (inboundAccount.heldBytes() == 0 || !budget.isUnderPressure())) {
      onBudgetAvailable();
    }
    maybeLift();
    if (!(readsPaused || restricted)) {
      return;
    }
    boolean progress = deliveredSinceStallCheck > 0
        || budget.releasedTotalBytes() - releasedAtStallCheck >= budget.limitBytes() / 16;
    releasedAtLeaderSearch = -1;
    admitLeaders();
    if (!progress && leaders.isEmpty() && inboundAccount.heldBytes() > 0
        && budget.usedBytes() + budget.promisedBytes() + leaderBytes > admitCeilingBytes) {
      // Nobody may go and nothing moves: the held partial messages cannot complete.
      reclaim();
    }
    if ((readsPaused || restricted) && !connection.closed) {
      scheduleStallCheck();
    }
  }

  /** Fails the streams holding the most bytes until a leader could be let through. */
  private void reclaim() {
    List<H2Stream> holders = new ArrayList<>();
    long total = 0;
    for (H2Stream s : connection.streams.values()) {
      BudgetAccount a = s.inboundAccount();
      if (a != null && a.heldBytes() > 0) {
        holders.add(s);
        total += a.heldBytes();
      }
    }
    holders.sort((x, y) -> Long.compare(y.inboundAccount().heldBytes(),
        x.inboundAccount().heldBytes()));
    long needed = budget.usedBytes() + budget.promisedBytes() + leaderBytes - admitCeilingBytes;
    long freed = 0;
    int failed = 0;
    for (H2Stream s : holders) {
      boolean last = failed == holders.size() - 1;
      if (failed > 0 && (freed >= needed || last)) {
        break; // enough, and never every stream holding bytes
      }
      long held = s.inboundAccount().heldBytes();
      budget.streamReclaimed();
      connection.failForBudget(s, Status.RESOURCE_EXHAUSTED.withDescription(
          "grpc-lean memory budget of " + budget.limitBytes() + " bytes: " + holders.size()
              + " calls on this connection hold " + total + " bytes of messages and none"
              + " could complete for " + TimeUnit.NANOSECONDS.toMillis(STALL_NANOS)
              + " ms; this call held " + held + " bytes and was failed to free memory"
              + " (memoryBudget / -D" + LeanMemoryBudget.PROPERTY + ")"));
      freed += held;
      failed++;
    }
    releasedAtLeaderSearch = -1;
  }

  // ---------------------------------------------------------------- memory coming back

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
   * reads, lift the restriction and tell blocked writers.
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
      if (restrictionInEffect) {
        admitLeaders();
      }
      return;
    }
    maybeLift();
    for (H2Stream s : connection.streams.values().toArray(new H2Stream[0])) {
      s.budgetAvailable();
    }
  }

  /** Loop thread, as the connection closes: a pause or restriction ends, the timer stops. */
  void close() {
    if (readsPaused) {
      readsPaused = false;
      budget.connectionResumed();
    }
    if (restricted) {
      restricted = false;
      budget.connectionUnrestricted();
    }
    dropLeaders();
    cancelStallTimer();
  }
}
