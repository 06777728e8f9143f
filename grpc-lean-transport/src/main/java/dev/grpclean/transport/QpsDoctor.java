package dev.grpclean.transport;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.LeanConnectionStats.Histogram;
import dev.grpclean.transport.frame.FrameType;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;

/**
 * Names what limited a server's or channel's connections between two snapshots of their counters
 * ({@link ConnectionStatsGroup#snapshot()}): a pure function of the figures, so every verdict can
 * be checked on constructed samples.
 *
 * <p>What it can name is what the counters measure: the peer's stream and connection flow-control
 * windows (we had bytes and no window), our own receive window (the peer sent all of it), our
 * socket send buffer (the kernel took no more bytes), saturated poller threads (busy rather than
 * waiting in {@code select}), the application (work waited in its executor's queue) and garbage
 * collection (the share of wall time in stop-the-world pauses).
 *
 * <p>Thread-safe (stateless).
 */
public final class QpsDoctor {
  /**
   * Share of the sampled time a connection spent stalled on one cause before that cause is called
   * a limit: a quarter of the time blocked is throughput a larger window or buffer would return.
   */
  static final double LIMITING_SHARE = 0.25;
  /**
   * The peer must have run our window dry at least this often before our window is blamed: a few
   * fills are the normal end of a burst.
   */
  static final long MIN_WINDOW_FILLS = 8;
  /**
   * ...and at least once per this many DATA frames received (with 16 KiB frames, once per MiB): a
   * sender that keeps finding our window empty is waiting on it.
   */
  static final long DATA_FRAMES_PER_FILL = 64;
  /**
   * Poller threads busy this share of the time (not waiting in {@code select}) are saturated:
   * above it, readiness and tasks queue behind each other and latency grows with load.
   */
  static final double LOOP_SATURATED_SHARE = 0.90;
  /**
   * Executor work waited in the queue at least this long on average before the application is
   * blamed: a millisecond is long next to a transport round trip on the same host.
   */
  static final long MIN_EXECUTOR_QUEUE_WAIT_NANOS = 1_000_000;
  /** ...with at least this many sampled tasks, so a lone slow task is no verdict. */
  static final long MIN_EXECUTOR_SAMPLES = 8;
  /**
   * A window is too small for the bandwidth-delay product when a connection moves at least this
   * share of it per PING round trip. grpc's BDP estimators grow the window at 2/3; half is used
   * here because a PING's ack skips the hop a WINDOW_UPDATE waits for (the receiving application
   * reading the data), so the PING round trip is shorter than the window's own cycle: on loopback
   * with a 16 KiB window, one window per cycle measured as 0.6 to 1.0 windows per PING round trip.
   * Only consulted when streams were blocked on the window, so it sizes the advice, not the
   * diagnosis.
   */
  static final double BDP_WINDOW_SHARE = 0.5;

  /** Wall time in GC pauses above this share is a limit (a tenth of the time stopped). */
  static final double GC_LIMITING_SHARE = 0.10;

  /** What limited the connections. */
  public enum Bottleneck {
    /** The peer's per-stream windows: our streams had bytes queued and no window to send them. */
    PEER_STREAM_WINDOW,
    /** The peer's connection window: DATA waited for the connection's WINDOW_UPDATE. */
    PEER_CONNECTION_WINDOW,
    /** Our receive windows: the peer kept sending all we allowed and had to wait for more. */
    OUR_RECEIVE_WINDOW,
    /**
     * A flow-control window (the peer's, which we send into, or ours) below the bandwidth-delay
     * product measured from PING round trips: the window, not the path, sets the throughput.
     * Named instead of {@link #PEER_STREAM_WINDOW} or {@link #OUR_RECEIVE_WINDOW} when a round
     * trip was measured, with the window to set.
     */
    WINDOW_BELOW_BDP,
    /** Our socket send buffer stayed full: the network or the peer's reading is the limit. */
    SEND_BUFFER_FULL,
    /** The poller threads were busy nearly all the time: more of them would do more. */
    EVENT_LOOP_SATURATED,
    /** Work waited in the application's executor: handlers, not the transport, set the pace. */
    APPLICATION_LIMITED,
    /** Stop-the-world garbage collection took a large share of the wall time. */
    GC
  }

  /**
   * A figure the verdicts are based on, per sampled interval: what the doctor's chart plots over
   * time ({@link #signals}). Shares are 0 to 1 of the interval; the unit is in the name otherwise.
   */
  public enum Signal {
    /** Poller threads' busy time over their wall time (not waiting in {@code select}). */
    POLLER_BUSY_SHARE,
    /** Streams blocked on the peer's stream window, per connection (summed time / its time). */
    STREAM_WINDOW_BLOCKED_SHARE,
    /** DATA waiting for the peer's connection window, per connection. */
    CONNECTION_WINDOW_BLOCKED_SHARE,
    /** Bytes waiting for the socket to become writable (our send buffer full), per connection. */
    SEND_BUFFER_FULL_SHARE,
    /** Wall time in stop-the-world GC pauses. */
    GC_PAUSE_SHARE,
    /** Mean wait of sampled executor tasks in the executor's queue; 0 without samples. */
    EXECUTOR_QUEUE_WAIT_NANOS,
    /** Mean wait of items in the writers' control queues; 0 without samples. */
    WRITER_QUEUE_WAIT_NANOS,
    /** Bytes the sockets took per second (all connections). */
    BYTES_SENT_PER_SECOND,
    /** Bytes read from the sockets per second (all connections). */
    BYTES_RECEIVED_PER_SECOND
  }

  /**
   * The {@link Signal}s between {@code earlier} and {@code later} (two snapshots of one group):
   * the same figures {@link #diagnose} compares with its thresholds. All 0 when no time passed.
   */
  public static EnumMap<Signal, Double> signals(LeanConnectionStats earlier,
      LeanConnectionStats later) {
    EnumMap<Signal, Double> m = new EnumMap<>(Signal.class);
    for (Signal s : Signal.values()) {
      m.put(s, 0.0);
    }
    long elapsedNanos = later.takenAtNanos() - earlier.takenAtNanos();
    if (elapsedNanos <= 0) {
      return m;
    }
    LeanConnectionStats d = later.minus(earlier);
    // Stall times are summed over connections: compare them with the connection-time sampled.
    double connectionNanos =
        (double) elapsedNanos * Math.max(1, later.get(Figure.CONNECTIONS_OPEN));
    long loopThreads = later.get(Figure.LOOP_THREADS);
    m.put(Signal.POLLER_BUSY_SHARE, loopThreads <= 0 ? 0.0
        : Math.max(0, d.get(Figure.LOOP_BUSY_NANOS)) / ((double) elapsedNanos * loopThreads));
    m.put(Signal.STREAM_WINDOW_BLOCKED_SHARE,
        d.get(Figure.STREAM_WINDOW_BLOCKED_NANOS) / connectionNanos);
    m.put(Signal.CONNECTION_WINDOW_BLOCKED_SHARE,
        d.get(Figure.CONNECTION_WINDOW_BLOCKED_NANOS) / connectionNanos);
    m.put(Signal.SEND_BUFFER_FULL_SHARE,
        d.get(Figure.SOCKET_NOT_WRITABLE_NANOS) / connectionNanos);
    m.put(Signal.GC_PAUSE_SHARE, Math.max(0, d.get(Figure.GC_PAUSE_NANOS)) / (double) elapsedNanos);
    long samples = d.get(Figure.EXECUTOR_SAMPLED_TASKS);
    m.put(Signal.EXECUTOR_QUEUE_WAIT_NANOS, samples <= 0 ? 0.0
        : (double) (Math.max(0, d.get(Figure.EXECUTOR_QUEUE_WAIT_NANOS)) / samples));
    m.put(Signal.WRITER_QUEUE_WAIT_NANOS, (double) Math.max(0, d.queueWaitMeanNanos()));
    double seconds = elapsedNanos / 1e9;
    m.put(Signal.BYTES_SENT_PER_SECOND, d.get(Figure.BYTES_WRITTEN) / seconds);
    m.put(Signal.BYTES_RECEIVED_PER_SECOND, d.get(Figure.BYTES_READ) / seconds);
    return m;
  }

  /** One finding: the cause, how much of the time it held (0 to 1), its evidence and advice. */
  public static final class Verdict {
    public final Bottleneck bottleneck;
    public final double share;
    public final String evidence;
    public final String advice;

    Verdict(Bottleneck bottleneck, double share, String evidence, String advice) {
      this.bottleneck = bottleneck;
      this.share = share;
      this.evidence = evidence;
      this.advice = advice;
    }

    @Override
    public String toString() {
      return bottleneck + ": " + evidence + "; " + advice;
    }
  }

  private QpsDoctor() {}

  /**
   * The verdicts for what happened between {@code earlier} and {@code later} (two snapshots of the
   * same group), most limiting first; empty when no cause the counters measure held.
   */
  public static List<Verdict> diagnose(LeanConnectionStats earlier, LeanConnectionStats later) {
    LeanConnectionStats d = later.minus(earlier);
    long elapsedNanos = later.takenAtNanos() - earlier.takenAtNanos();
    List<Verdict> verdicts = new ArrayList<>(4);
    if (elapsedNanos <= 0) {
      return verdicts;
    }
    EnumMap<Signal, Double> signals = signals(earlier, later);
    double seconds = elapsedNanos / 1e9;
    double sentBytesPerSecond = signals.get(Signal.BYTES_SENT_PER_SECOND);
    long rttNanos = d.get(Figure.PING_ACKS_RECEIVED) > 0 ? d.meanPingRttNanos()
        : later.meanPingRttNanos();
    double connections = Math.max(1, later.get(Figure.CONNECTIONS_OPEN));

    double streamShare = signals.get(Signal.STREAM_WINDOW_BLOCKED_SHARE);
    Verdict sendBdp = streamShare >= LIMITING_SHARE
        ? belowBdp(streamShare, sentBytesPerSecond / connections, rttNanos,
            later.get(Figure.PEER_INITIAL_WINDOW_BYTES), "the peer's stream window",
            String.format(Locale.ROOT, "streams blocked on it %s of the time%s",
                percent(streamShare), endedStreams(d)), "raise the peer's flowControlWindow")
        : null;
    if (sendBdp != null) {
      verdicts.add(sendBdp);
    } else if (streamShare >= LIMITING_SHARE) {
      long stalls = d.get(Figure.STREAM_WINDOW_BLOCKED_EVENTS);
      long queuedAtStall = stalls == 0 ? 0 : d.get(Figure.STREAM_WINDOW_BLOCKED_BYTES) / stalls;
      verdicts.add(new Verdict(Bottleneck.PEER_STREAM_WINDOW, streamShare,
          String.format(Locale.ROOT, "limited by the peer's stream flow-control window: streams "
              + "had bytes queued and no window %s of the time (%d stalls, %s queued at a stall "
              + "on average; sending %s/s%s)%s", percent(streamShare), stalls,
              bytes(queuedAtStall), bytes((long) sentBytesPerSecond),
              bdp(sentBytesPerSecond, rttNanos), endedStreams(d)),
          "raise the peer's per-stream flowControlWindow (at least throughput x round trip)"));
    }
    double connectionShare = signals.get(Signal.CONNECTION_WINDOW_BLOCKED_SHARE);
    if (connectionShare >= LIMITING_SHARE) {
      verdicts.add(new Verdict(Bottleneck.PEER_CONNECTION_WINDOW, connectionShare,
          String.format(Locale.ROOT, "limited by the peer's connection flow-control window: DATA "
              + "waited for it %s of the time (%d stalls; sending %s/s%s)",
              percent(connectionShare), d.get(Figure.CONNECTION_WINDOW_BLOCKED_EVENTS),
              bytes((long) sentBytesPerSecond), bdp(sentBytesPerSecond, rttNanos)),
          "raise the peer's connection window (its flowControlWindow), or spread the streams "
              + "over more connections"));
    }
    double sendBufferShare = signals.get(Signal.SEND_BUFFER_FULL_SHARE);
    if (sendBufferShare >= LIMITING_SHARE) {
      verdicts.add(new Verdict(Bottleneck.SEND_BUFFER_FULL, sendBufferShare,
          String.format(Locale.ROOT, "socket send buffer full %s of the time (%d writes refused "
              + "of %d%s)", percent(sendBufferShare), d.get(Figure.SHORT_WRITES),
              d.get(Figure.WRITE_SYSCALLS), writerQueue(d)),
          "the network or the peer's reading is the limit: check the peer's load and the path"));
    }
    long fills = d.get(Figure.PEER_FILLED_STREAM_WINDOW)
        + d.get(Figure.PEER_FILLED_CONNECTION_WINDOW);
    long dataFramesIn = d.framesIn(FrameType.DATA);
    if (fills >= MIN_WINDOW_FILLS && fills * DATA_FRAMES_PER_FILL >= dataFramesIn) {
      double fillShare = dataFramesIn == 0 ? 1 : Math.min(1, (double) fills / dataFramesIn);
      Verdict receiveBdp = belowBdp(fillShare, d.get(Figure.BYTES_READ) / seconds / connections,
          rttNanos, later.get(Figure.OUR_WINDOW_BYTES), "our receive window",
          String.format(Locale.ROOT, "the peer filled it %d times", fills),
          "raise our flowControlWindow");
      verdicts.add(receiveBdp != null ? receiveBdp
          : new Verdict(Bottleneck.OUR_RECEIVE_WINDOW, fillShare, String.format(Locale.ROOT,
              "the peer sent our whole receive window %d times in %d DATA frames (%s/s "
                  + "received): it waits on our WINDOW_UPDATEs", fills, dataFramesIn,
              bytes((long) (d.get(Figure.BYTES_READ) / seconds))),
              "raise our flowControlWindow (at least throughput x round trip)"));
    }
    long loopThreads = later.get(Figure.LOOP_THREADS);
    if (loopThreads > 0) {
      double loopShare = signals.get(Signal.POLLER_BUSY_SHARE);
      if (loopShare >= LOOP_SATURATED_SHARE) {
        verdicts.add(new Verdict(Bottleneck.EVENT_LOOP_SATURATED, Math.min(1, loopShare),
            String.format(Locale.ROOT, "event loop saturated: poller threads %s busy on %d "
                + "thread%s (%d channels on them, %.0f tasks/s, %.0f reads/s%s)",
                percent(Math.min(1, loopShare)), loopThreads, loopThreads == 1 ? "" : "s",
                later.get(Figure.LOOP_CHANNELS_OWNED), d.get(Figure.LOOP_TASKS_RUN) / seconds,
                d.get(Figure.READ_SYSCALLS) / seconds, writerQueue(d)),
            "raise pollerThreads (on the builder) to spread the connections over more threads"
                + (loopThreads == 1 ? "" : ", if the machine has idle cores")));
      }
    }
    long samples = d.get(Figure.EXECUTOR_SAMPLED_TASKS);
    if (samples >= MIN_EXECUTOR_SAMPLES) {
      long waitNanos = Math.max(0, d.get(Figure.EXECUTOR_QUEUE_WAIT_NANOS));
      long runNanos = Math.max(0, d.get(Figure.EXECUTOR_RUN_NANOS));
      long meanWait = waitNanos / samples;
      if (meanWait >= MIN_EXECUTOR_QUEUE_WAIT_NANOS) {
        double waitShare = (double) waitNanos / Math.max(1, waitNanos + runNanos);
        verdicts.add(new Verdict(Bottleneck.APPLICATION_LIMITED, waitShare,
            String.format(Locale.ROOT, "limited by the application: work waited in the "
                + "executor's queue %s ms on average, p99 %s ms (%s of queue wait plus run); "
                + "handlers ran %.1f ms on average, %.2f executor threads busy",
                millis(meanWait), millis(d.percentile(Histogram.EXECUTOR_QUEUE_WAIT_NANOS, 0.99)),
                percent(waitShare), runNanos / 1e6 / samples,
                runNanos / (double) elapsedNanos * d.get(Figure.EXECUTOR_TASKS) / samples),
            "give the server's (or channel's) executor more threads, or stop blocking in "
                + "handlers (use async stubs)"));
      }
    }
    double gcShare = signals.get(Signal.GC_PAUSE_SHARE);
    if (gcShare >= GC_LIMITING_SHARE) {
      verdicts.add(new Verdict(Bottleneck.GC, Math.min(1, gcShare),
          String.format(Locale.ROOT, "GC: %s of wall time in pauses (%d collections, %s ms "
              + "each on average)", percent(Math.min(1, gcShare)), d.get(Figure.GC_PAUSES),
              millis(d.get(Figure.GC_PAUSES) == 0 ? 0
                  : d.get(Figure.GC_PAUSE_NANOS) / d.get(Figure.GC_PAUSES))),
          "allocate less per call or give the heap more room (-Xmx, -XX:MaxGCPauseMillis)"));
    }
    verdicts.sort(Comparator.comparingDouble((Verdict v) -> v.share).reversed());
    return verdicts;
  }

  /**
   * {@link Bottleneck#WINDOW_BELOW_BDP} when a round trip is known and each connection moved at
   * least {@link #BDP_WINDOW_SHARE} of {@code windowBytes} per round trip; null otherwise.
   */
  @javax.annotation.Nullable
  private static Verdict belowBdp(double share, double bytesPerSecondPerConnection,
      long rttNanos, long windowBytes, String window, String stall, String advice) {
    if (rttNanos <= 0 || windowBytes <= 0) {
      return null;
    }
    double bdpBytes = bytesPerSecondPerConnection * rttNanos / 1e9;
    if (bdpBytes < BDP_WINDOW_SHARE * windowBytes) {
      return null;
    }
    long suggested = suggestedWindow(Math.max(bdpBytes, windowBytes));
    return new Verdict(Bottleneck.WINDOW_BELOW_BDP, share,
        String.format(Locale.ROOT, "window too small for the bandwidth-delay product: %s is %s "
            + "and each connection moved %s per PING round trip (%.0f us x %s/s), %s; the "
            + "window, not the path, sets the pace", window, bytes(windowBytes),
            bytes((long) bdpBytes), rttNanos / 1e3, bytes((long) bytesPerSecondPerConnection),
            stall),
        String.format(Locale.ROOT, "%s to at least %s (flowControlWindow(%d))", advice,
            bytes(suggested), suggested));
  }

  /**
   * Twice {@code bytes}, rounded up to a power of 2 and capped at 2^31 - 1 (the largest HTTP/2
   * window): a window that filled within a round trip needs room for more than it carried.
   */
  static long suggestedWindow(double bytes) {
    long twice = (long) Math.min(Integer.MAX_VALUE, Math.ceil(2 * bytes));
    long pow = Long.highestOneBit(Math.max(1, twice));
    return Math.min(Integer.MAX_VALUE, pow == twice ? pow : pow << 1);
  }

  /** Plain-text report of {@link #diagnose}: one line per verdict, or what was not found. */
  public static String report(List<Verdict> verdicts) {
    if (verdicts.isEmpty()) {
      return "no limit found: flow-control windows, the socket send buffer, the poller threads, "
          + "the executor's queue (when the builder was given the executor) and GC pauses were "
          + "all below their thresholds\n";
    }
    StringBuilder sb = new StringBuilder();
    for (Verdict v : verdicts) {
      sb.append(v.evidence).append("\n  -> ").append(v.advice).append('\n');
    }
    return sb.toString();
  }

  private static String bdp(double bytesPerSecond, long rttNanos) {
    if (rttNanos <= 0) {
      return "";
    }
    return String.format(Locale.ROOT, "; PING round trip %.0f us, so throughput x round trip is %s",
        rttNanos / 1e3, bytes((long) (bytesPerSecond * rttNanos / 1e9)));
  }

  /**
   * The per-stream summaries of the streams that ended in the window {@code d}, as evidence of a
   * window stall: how many were blocked and the worst one; empty when none ended on a busy
   * connection.
   */
  static String endedStreams(LeanConnectionStats d) {
    long ended = d.get(Figure.ENDED_STREAMS);
    if (ended <= 0) {
      return "";
    }
    return String.format(Locale.ROOT, "; %d of %d ended streams were blocked on the window, "
            + "p99 %s ms each, the worst stream since start %s ms",
        d.get(Figure.ENDED_STREAMS_BLOCKED_ON_WINDOW), ended,
        // The bucket's upper bound, but never above the worst stream (a bucket is 2x wide).
        millis(Math.min(d.percentile(Histogram.STREAM_WINDOW_BLOCKED_NANOS, 0.99),
            d.get(Figure.ENDED_STREAM_WINDOW_BLOCKED_NANOS_MAX))),
        millis(d.get(Figure.ENDED_STREAM_WINDOW_BLOCKED_NANOS_MAX)));
  }

  /**
   * The writers' control-queue wait in the window {@code d}, as evidence of a writer that cannot
   * keep up (a busy loop, a full send buffer); empty when no wait was sampled in it.
   */
  static String writerQueue(LeanConnectionStats d) {
    if (d.get(Figure.QUEUE_WAIT_SAMPLED_ITEMS) <= 0) {
      return "";
    }
    return String.format(Locale.ROOT, "; frames waited %.0f us on average in the writer's queue "
            + "(longest sampled %.0f us), %.1f items queued on average",
        d.queueWaitMeanNanos() / 1e3, d.get(Figure.QUEUE_WAIT_NANOS_MAX) / 1e3,
        d.averageQueueDepth());
  }

  private static String millis(long nanos) {
    return String.format(Locale.ROOT, "%.1f", nanos / 1e6);
  }

  private static String percent(double share) {
    return String.format(Locale.ROOT, "%.0f%%", share * 100);
  }

  private static String bytes(long n) {
    if (n >= 10L << 20) {
      return (n >> 20) + " MiB";
    }
    if (n >= 10L << 10) {
      return (n >> 10) + " KiB";
    }
    return n + " B";
  }
}
