package dev.grpclean.transport;

/**
 * Decides when a connection's receive windows should grow, from measured bandwidth-delay
 * products: while DATA arrives and the window is busy, a PING leaves; the bytes that arrive until
 * its ack are one round trip's worth (the BDP sample). When a sample fills most of the window
 * (two thirds) and the bandwidth it shows is the highest yet, the window is what holds the sender
 * back: the new window is twice the sample, at most {@link #capBytes}. Once a larger window no
 * longer raises the bandwidth, the window stops growing. It never shrinks.
 *
 * <p>Pure decision logic: times and window sizes come from the caller ({@link ConnectionFlow}),
 * which sends the PING and applies the window. Confined to the connection's loop thread.
 */
final class BdpEstimator {
  /** The largest window growth reaches by default: 8 MiB, grpc-netty's cap. */
  static final int DEFAULT_MAX_WINDOW_BYTES = 8 << 20;

  private final int capBytes;
  private boolean pingOutstanding;
  private long pingSentNanos;
  /** Bytes received since the outstanding PING left. */
  private long sampleBytes;
  /** Highest bandwidth a sample showed, bytes per nanosecond. */
  private double bestBytesPerNano;

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
    double bytesPerNano = (double) sampleBytes / rttNanos;
    boolean rising = bytesPerNano > bestBytesPerNano;
    if (rising) {
      bestBytesPerNano = bytesPerNano;
    }
    if (!rising || windowBytes >= capBytes || 3 * sampleBytes < 2L * windowBytes) {
      return 0;
    }
    long target = Math.min(capBytes, 2 * sampleBytes);
    return target > windowBytes ? (int) target : 0;
  }
}
