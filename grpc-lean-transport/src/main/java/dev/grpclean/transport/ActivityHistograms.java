package dev.grpclean.transport;

import dev.grpclean.transport.LeanConnectionStats.Histogram;

/**
 * The per-read and per-write distributions of one busy connection: bytes per read, bytes per
 * write, frames per read and the time from the socket becoming readable to the frames of that
 * event being handed on, each as fixed log2 buckets ({@link LeanConnectionStats#bucketOf}).
 * {@link ConnectionCounters} allocates one once its connection is busy, so idle connections carry
 * none; nothing is allocated per event.
 *
 * <p>Memory: one array of {@code 4 x} {@link LeanConnectionStats#HISTOGRAM_BUCKETS} longs (1.3 KiB)
 * per busy connection.
 *
 * <p>Confined to the connection's loop thread, like its {@link ConnectionCounters}.
 */
final class ActivityHistograms {
  private static final int B = LeanConnectionStats.HISTOGRAM_BUCKETS;
  private static final int BYTES_PER_READ = 0;
  private static final int BYTES_PER_WRITE = B;
  private static final int FRAMES_PER_READ = 2 * B;
  private static final int READABLE_TO_DELIVERED = 3 * B;

  private final long[] counts = new long[4 * B];
  /** When the current readiness event started; 0 outside one. */
  private long readableSinceNanos;
  /** Frames read by all reads before the current read. */
  private long framesBeforeRead;

  void readableStarted(long framesSoFar) {
    readableSinceNanos = System.nanoTime();
    framesBeforeRead = framesSoFar;
  }

  void read(int bytes, long framesSoFar) {
    counts[BYTES_PER_READ + LeanConnectionStats.bucketOf(bytes)]++;
    framesBeforeRead = framesSoFar;
  }

  void readConsumed(long framesSoFar) {
    counts[FRAMES_PER_READ + LeanConnectionStats.bucketOf(framesSoFar - framesBeforeRead)]++;
    framesBeforeRead = framesSoFar;
  }

  void readableDone(long framesSoFar) {
    if (readableSinceNanos != 0) {
      counts[READABLE_TO_DELIVERED
          + LeanConnectionStats.bucketOf(System.nanoTime() - readableSinceNanos)]++;
      readableSinceNanos = 0;
    }
    framesBeforeRead = framesSoFar;
  }

  void wrote(int bytes) {
    counts[BYTES_PER_WRITE + LeanConnectionStats.bucketOf(bytes)]++;
  }

  void addTo(LeanConnectionStats.Builder sum) {
    sum.addHistogram(Histogram.BYTES_PER_READ, counts, BYTES_PER_READ);
    sum.addHistogram(Histogram.BYTES_PER_WRITE, counts, BYTES_PER_WRITE);
    sum.addHistogram(Histogram.FRAMES_PER_READ, counts, FRAMES_PER_READ);
    sum.addHistogram(Histogram.READABLE_TO_DELIVERED_NANOS, counts, READABLE_TO_DELIVERED);
  }
}
