package dev.grpclean.transport;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.frame.FrameType;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Names what limited a server's or channel's connections between two snapshots of their counters
 * ({@link ConnectionStatsGroup#snapshot()}): a pure function of the figures, so every verdict can
 * be checked on constructed samples.
 *
 * <p>What it can name today is what the counters measure: the peer's stream and connection
 * flow-control windows (we had bytes and no window), our own receive window (the peer sent all of
 * it), and our socket send buffer (the kernel took no more bytes). It cannot yet name a saturated
 * event loop or an application-limited server: the transport does not measure poller busy time or
 * executor queueing, and the doctor says so rather than guess.
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

  /** What limited the connections. */
  public enum Bottleneck {
    /** The peer's per-stream windows: our streams had bytes queued and no window to send them. */
    PEER_STREAM_WINDOW,
    /** The peer's connection window: DATA waited for the connection's WINDOW_UPDATE. */
    PEER_CONNECTION_WINDOW,
    /** Our receive windows: the peer kept sending all we allowed and had to wait for more. */
    OUR_RECEIVE_WINDOW,
    /** Our socket send buffer stayed full: the network or the peer's reading is the limit. */
    SEND_BUFFER_FULL
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
    // Stall times are summed over connections: compare them with the connection-time sampled.
    double connectionNanos =
        (double) elapsedNanos * Math.max(1, later.get(Figure.CONNECTIONS_OPEN));
    double seconds = elapsedNanos / 1e9;
    double sentBytesPerSecond = d.get(Figure.BYTES_WRITTEN) / seconds;
    long rttNanos = later.meanPingRttNanos();

    double streamShare = d.get(Figure.STREAM_WINDOW_BLOCKED_NANOS) / connectionNanos;
    if (streamShare >= LIMITING_SHARE) {
      long stalls = d.get(Figure.STREAM_WINDOW_BLOCKED_EVENTS);
      long queuedAtStall = stalls == 0 ? 0 : d.get(Figure.STREAM_WINDOW_BLOCKED_BYTES) / stalls;
      verdicts.add(new Verdict(Bottleneck.PEER_STREAM_WINDOW, streamShare,
          String.format(Locale.ROOT, "limited by the peer's stream flow-control window: streams "
              + "had bytes queued and no window %s of the time (%d stalls, %s queued at a stall "
              + "on average; sending %s/s%s)", percent(streamShare), stalls, bytes(queuedAtStall),
              bytes((long) sentBytesPerSecond), bdp(sentBytesPerSecond, rttNanos)),
          "raise the peer's per-stream flowControlWindow (at least throughput x round trip)"));
    }
    double connectionShare = d.get(Figure.CONNECTION_WINDOW_BLOCKED_NANOS) / connectionNanos;
    if (connectionShare >= LIMITING_SHARE) {
      verdicts.add(new Verdict(Bottleneck.PEER_CONNECTION_WINDOW, connectionShare,
          String.format(Locale.ROOT, "limited by the peer's connection flow-control window: DATA "
              + "waited for it %s of the time (%d stalls; sending %s/s%s)",
              percent(connectionShare), d.get(Figure.CONNECTION_WINDOW_BLOCKED_EVENTS),
              bytes((long) sentBytesPerSecond), bdp(sentBytesPerSecond, rttNanos)),
          "raise the peer's connection window (its flowControlWindow), or spread the streams "
              + "over more connections"));
    }
    double sendBufferShare = d.get(Figure.SOCKET_NOT_WRITABLE_NANOS) / connectionNanos;
    if (sendBufferShare >= LIMITING_SHARE) {
      verdicts.add(new Verdict(Bottleneck.SEND_BUFFER_FULL, sendBufferShare,
          String.format(Locale.ROOT, "socket send buffer full %s of the time (%d writes refused "
              + "of %d)", percent(sendBufferShare), d.get(Figure.SHORT_WRITES),
              d.get(Figure.WRITE_SYSCALLS)),
          "the network or the peer's reading is the limit: check the peer's load and the path"));
    }
    long fills = d.get(Figure.PEER_FILLED_STREAM_WINDOW)
        + d.get(Figure.PEER_FILLED_CONNECTION_WINDOW);
    long dataFramesIn = d.framesIn(FrameType.DATA);
    if (fills >= MIN_WINDOW_FILLS && fills * DATA_FRAMES_PER_FILL >= dataFramesIn) {
      double fillShare = dataFramesIn == 0 ? 1 : Math.min(1, (double) fills / dataFramesIn);
      verdicts.add(new Verdict(Bottleneck.OUR_RECEIVE_WINDOW, fillShare,
          String.format(Locale.ROOT, "the peer sent our whole receive window %d times in %d DATA "
              + "frames (%s/s received): it waits on our WINDOW_UPDATEs", fills, dataFramesIn,
              bytes((long) (d.get(Figure.BYTES_READ) / seconds))),
          "raise our flowControlWindow (at least throughput x round trip)"));
    }
    verdicts.sort(Comparator.comparingDouble((Verdict v) -> v.share).reversed());
    return verdicts;
  }

  /** Plain-text report of {@link #diagnose}: one line per verdict, or what was not found. */
  public static String report(List<Verdict> verdicts) {
    if (verdicts.isEmpty()) {
      return "no transport-level limit found (flow-control windows and the socket send buffer "
          + "were not limiting); event-loop saturation and executor queueing are not measured"
          + " yet\n";
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
