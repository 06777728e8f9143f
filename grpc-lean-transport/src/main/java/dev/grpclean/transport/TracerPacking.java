package dev.grpclean.transport;

import io.grpc.InternalChannelz.TransportStats;
import io.grpc.internal.TransportTracer;
import javax.annotation.Nullable;

/**
 * grpc-core's per-transport figures ({@link TransportTracer}: streams, messages, keepalives and
 * their last times, what channelz reports per socket) of a hibernating server connection, written
 * down as ten varints so that the tracer itself (about 0.14 KiB with its counter) can go; the next
 * stream gets a new tracer and channelz reads the two together ({@link #merge}): counts add, a
 * "last time" is the later one. The flow-control windows are not written down: they are read
 * from the connection each time.
 *
 * <p>Stateless; the bytes are never written after {@link #pack} returns them.
 */
final class TracerPacking {
  /** What a connection that never had a tracer reports (nothing yet). */
  private static final TransportStats NONE =
      new TransportStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

  private TracerPacking() {}

  /** {@code earlier} (packed, or null) and {@code live}'s figures together, packed. */
  static byte[] pack(@Nullable byte[] earlier, TransportStats live) {
    long[] v = fields(merge(earlier, live, 0, 0));
    int n = 0;
    for (long x : v) {
      n += CountersPacking.varintBytes(x);
    }
    byte[] out = new byte[n];
    int at = 0;
    for (long x : v) {
      at = CountersPacking.putVarint(out, at, x);
    }
    return out;
  }

  /**
   * {@code packed} (or null) and {@code live} (or null) as one set of figures, with these
   * windows.
   */
  static TransportStats merge(@Nullable byte[] packed, @Nullable TransportStats live,
      long localWindow, long remoteWindow) {
    long[] a = packed == null ? fields(NONE) : unpack(packed);
    long[] b = fields(live == null ? NONE : live);
    return new TransportStats(
        a[0] + b[0], Math.max(a[1], b[1]), Math.max(a[2], b[2]), a[3] + b[3], a[4] + b[4],
        a[5] + b[5], a[6] + b[6], a[7] + b[7], Math.max(a[8], b[8]), Math.max(a[9], b[9]),
        localWindow, remoteWindow);
  }

  /** The ten figures in {@link TransportStats}' constructor order, windows left out. */
  private static long[] fields(TransportStats s) {
    return new long[] {
        s.streamsStarted, s.lastLocalStreamCreatedTimeNanos, s.lastRemoteStreamCreatedTimeNanos,
        s.streamsSucceeded, s.streamsFailed, s.messagesSent, s.messagesReceived, s.keepAlivesSent,
        s.lastMessageSentTimeNanos, s.lastMessageReceivedTimeNanos};
  }

  private static long[] unpack(byte[] packed) {
    long[] v = new long[10];
    int[] at = {0};
    for (int i = 0; i < v.length; i++) {
      v[i] = CountersPacking.getVarint(packed, at);
    }
    return v;
  }
}
