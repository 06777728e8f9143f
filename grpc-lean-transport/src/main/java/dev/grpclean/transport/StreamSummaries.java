package dev.grpclean.transport;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.LeanConnectionStats.Histogram;
import java.util.function.LongSupplier;

/**
 * What the ended streams of one busy connection did, summarised: per stream, the DATA payload
 * bytes it sent and received, the time it had bytes queued and no send window (the peer's stream
 * window), and the time it had bytes queued in the writer at all (waiting for a window, its
 * round-robin turn or the socket), folded at the stream's end into log2 histograms and the worst
 * stream's figures. Nothing is kept per ended stream: a stream's running figures are four longs on
 * its {@link OutboundStream}, read here once when it ends ({@link #streamEnded}).
 *
 * <p>{@link ConnectionCounters} creates one together with its {@link ActivityHistograms} (once the
 * connection is busy), so idle connections carry none, and never when counting is off. The clock
 * is read only when a stream's queue starts or stops holding bytes and when its window closes or
 * opens; nothing is allocated per stream or per frame.
 *
 * <p>Memory: one array of {@code 4 x} {@link LeanConnectionStats#HISTOGRAM_BUCKETS} longs (1.3 KiB)
 * and seven longs per busy connection.
 *
 * <p>Confined to the connection's loop thread, like its {@link ConnectionCounters}.
 */
final class StreamSummaries {
  private static final int B = LeanConnectionStats.HISTOGRAM_BUCKETS;
  private static final int WINDOW_BLOCKED = 0;
  private static final int QUEUED = B;
  private static final int SENT = 2 * B;
  private static final int RECEIVED = 3 * B;

  private final LongSupplier clock;
  private final long[] counts = new long[4 * B];
  private long ended;
  private long endedBlockedOnWindow;
  private long windowBlockedNanosTotal;
  private long windowBlockedNanosMax;
  private long queuedNanosMax;
  private long bytesSentMax;
  private long bytesReceivedMax;

  StreamSummaries(LongSupplier clock) {
    this.clock = clock;
  }

  /** The clock, never 0 (0 marks "not in that state" on the streams). */
  long now() {
    long t = clock.getAsLong();
    return t == 0 ? 1 : t;
  }

  /**
   * {@code s} ended (unregistered, reset, or its connection closed): its open intervals are closed
   * now and its figures folded in. Called once per stream; the stream's figures are cleared, so a
   * second call adds nothing but a stream.
   */
  void streamEnded(OutboundStream s) {
    long t = 0;
    if (s.windowBlockedSinceNanos != 0) {
      t = now();
      s.windowBlockedNanos += t - s.windowBlockedSinceNanos;
      s.windowBlockedSinceNanos = 0;
    }
    if (s.queuedSinceNanos != 0) {
      s.queuedNanos += (t != 0 ? t : now()) - s.queuedSinceNanos;
      s.queuedSinceNanos = 0;
    }
    ended++;
    if (s.windowBlockedNanos > 0) {
      endedBlockedOnWindow++;
    }
    windowBlockedNanosTotal += s.windowBlockedNanos;
    windowBlockedNanosMax = Math.max(windowBlockedNanosMax, s.windowBlockedNanos);
    queuedNanosMax = Math.max(queuedNanosMax, s.queuedNanos);
    bytesSentMax = Math.max(bytesSentMax, s.bytesSent);
    bytesReceivedMax = Math.max(bytesReceivedMax, s.bytesReceived);
    counts[WINDOW_BLOCKED + LeanConnectionStats.bucketOf(s.windowBlockedNanos)]++;
    counts[QUEUED + LeanConnectionStats.bucketOf(s.queuedNanos)]++;
    counts[SENT + LeanConnectionStats.bucketOf(s.bytesSent)]++;
    counts[RECEIVED + LeanConnectionStats.bucketOf(s.bytesReceived)]++;
    s.windowBlockedNanos = 0;
    s.queuedNanos = 0;
    s.bytesSent = 0;
    s.bytesReceived = 0;
  }

  void addTo(LeanConnectionStats.Builder sum) {
    sum.add(Figure.ENDED_STREAMS, ended);
    sum.add(Figure.ENDED_STREAMS_BLOCKED_ON_WINDOW, endedBlockedOnWindow);
    sum.add(Figure.ENDED_STREAM_WINDOW_BLOCKED_NANOS, windowBlockedNanosTotal);
    sum.max(Figure.ENDED_STREAM_WINDOW_BLOCKED_NANOS_MAX, windowBlockedNanosMax);
    sum.max(Figure.ENDED_STREAM_QUEUED_NANOS_MAX, queuedNanosMax);
    sum.max(Figure.ENDED_STREAM_BYTES_SENT_MAX, bytesSentMax);
    sum.max(Figure.ENDED_STREAM_BYTES_RECEIVED_MAX, bytesReceivedMax);
    sum.addHistogram(Histogram.STREAM_WINDOW_BLOCKED_NANOS, counts, WINDOW_BLOCKED);
    sum.addHistogram(Histogram.STREAM_QUEUED_NANOS, counts, QUEUED);
    sum.addHistogram(Histogram.STREAM_BYTES_SENT, counts, SENT);
    sum.addHistogram(Histogram.STREAM_BYTES_RECEIVED, counts, RECEIVED);
  }
}
