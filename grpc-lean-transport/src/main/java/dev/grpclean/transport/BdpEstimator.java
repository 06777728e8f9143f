package dev.grpclean.transport;

/**
 * Decides when a connection's receive windows should grow, from measured bandwidth-delay
 * products: while DATA arrives and the window is busy, a PING leaves; the bytes that arrive until
 * its ack are one round trip's worth (a BDP sample).
 *
 * <p>Samples are pooled per window size, {@link #SAMPLES_PER_ROUND} at a time (a round): its
 * bandwidth is the round's bytes over its round trips, steadier than one sample's. After a round
 * whose samples fill most of the window (two thirds on average), the window grows to twice the
 * average sample, at most {@link #capBytes}, if the round's bandwidth beats the best one measured
 * before by {@link #MIN_GAIN} (the first round always does: nothing was measured before).
 * So a growth must pay for itself: the round after it, at the larger window, has to show at least
 * a quarter more bandwidth, or the window stays where it is. That is the test a queue fails: when
 * bytes wait in socket buffers or in our own inbound buffers ahead of the PING's ack (bufferbloat,
 * as on loopback, or an application slower than the network), every sample fills the window
 * whatever its size, because the round trip grows with the window, and the bandwidth stays flat:
 * a larger window there only adds bytes in flight, and memory on our side. On a path whose round
 * trip does not depend on the window, doubling the window doubles the bandwidth until the window
 * covers the path's bandwidth-delay product. Past the first growth, a second test keeps queues
 * out: the path's own bandwidth-delay product, the round's bandwidth times the shortest round
 * trip any sample took (the one least delayed by a queue), must exceed half the window, as it
 * does on a long path and does not on loopback, where a warming JIT or a freed core can raise the
 * bandwidth by a quarter while a round trip without a queue stays well under a millisecond. The
 * first growth needs neither: it lets a peer send the next message while the application still
 * reads the last one. The window never shrinks.
 *
 * <p>Pure decision logic: times and window sizes come from the caller ({@link ConnectionFlow}),
 * which sends the PING and applies the window. Confined to the connection's loop thread.
 */
final class BdpEstimator {
  /** The largest window growth reaches by default: 8 MiB, grpc-netty's cap. */
  static final int DEFAULT_MAX_WINDOW_BYTES = 8 << 20;
  /**
   * Samples pooled into one round: 4. One sample's bandwidth swings several-fold on a busy host
   * (the ack waits for a loop thread that is reading); four steady it enough to see a real
   * doubling, and still take only four round trips per decision.
   */
  static final int SAMPLES_PER_ROUND = 4;
  /**
   * How much a round's bandwidth must beat the best measured before for the window to grow:
   * +25 %. A window that covers the path's bandwidth-delay product gains nothing from doubling,
   * one that does not gains close to 100 %; rounds of the same window differ by less than this.
   */
  static final double MIN_GAIN = 1.25;

  private final int capBytes;
  private boolean pingOutstanding;
  private long pingSentNanos;
  /** Bytes received since the outstanding PING left. */
  private long sampleBytes;
  /** The current round: samples, their bytes and their round trips. */
  private int roundSamples;
  private long roundBytes;
  private long roundNanos;
  /** Highest bandwidth a round showed, bytes per nanosecond; 0 before the first full round. */
  private double bestBytesPerNano;
  /** Shortest round trip of any sample: the path's, least delayed by queues. */
  private long minRttNanos = Long.MAX_VALUE;
  /** The window grew once: later growth must also pass the queue-free test. */
  private boolean grown;

  BdpEstimator(int capBytes) {
    this.capBytes = capBytes;
  }

  /**
   * A DATA frame of {@code bytes} arrived. Returns whether a BDP PING should leave now: none is
   * outstanding and the window is busy ({@code windowBusy}, the caller's judgement), so idle or
   * lightly used connections cost no PINGs. The caller then calls {@link #pingSent}.
   */
  boolean onData(int bytes, boolean windowBusy) {
    if (pingOutstanding) {
      sampleBytes += bytes;
      return false;
    }
    return windowBusy;
  }

  /** The BDP PING left at {@code nowNanos}: the sample counts from here. */
  void pingSent(long nowNanos) {
    pingOutstanding = true;
    pingSentNanos = nowNanos;
    sampleBytes = 0;
  }

  boolean pingOutstanding() {
    return pingOutstanding;
  }

  /**
   * The BDP PING was acknowledged at {@code nowNanos}, the receive window being {@code
   * windowBytes}. Returns the window to grow to (larger than {@code windowBytes}, at most the cap),
   * or 0 to keep it.
   */
  int onPingAck(long nowNanos, int windowBytes) {
    if (!pingOutstanding) {
      return 0;
    }
    pingOutstanding = false;
    long rttNanos = Math.max(1, nowNanos - pingSentNanos);
    minRttNanos = Math.min(minRttNanos, rttNanos);
    roundSamples++;
    roundBytes += sampleBytes;
    roundNanos += rttNanos;
    if (roundSamples < SAMPLES_PER_ROUND) {
      return 0;
    }
    long averageSample = roundBytes / roundSamples;
    double bytesPerNano = (double) roundBytes / roundNanos;
    roundSamples = 0;
    roundBytes = 0;
    roundNanos = 0;
    if (3 * averageSample < 2L * windowBytes) {
      // The window was not busy enough for its size to matter: nothing learnt about it.
      return 0;
    }
    boolean gained = bytesPerNano >= MIN_GAIN * bestBytesPerNano;
    bestBytesPerNano = Math.max(bestBytesPerNano, bytesPerNano);
    if (!gained || windowBytes >= capBytes
        || (grown && 2 * bytesPerNano * minRttNanos <= windowBytes)) {
      return 0;
    }
    long target = Math.min(capBytes, 2 * averageSample);
    if (target <= windowBytes) {
      return 0;
    }
    grown = true;
    return (int) target;
  }
}
