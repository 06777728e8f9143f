package dev.grpclean.transport;

import dev.grpclean.transport.ConnectionCounters.Values;

/**
 * The packed form of a hibernated connection's {@link ConnectionCounters}: every figure is a
 * numbered slot (the scalars, then frames in and out by type, then the by-code error tables), and
 * only the non-zero slots are written, each as the unsigned varint of its distance from the last
 * written slot followed by the unsigned varint of its value. A connection that only handshook and
 * ran a call packs into a few dozen bytes; one whose figures are all zero shares {@link
 * #ALL_ZERO}. Values round-trip exactly, negative ones (a {@link System#nanoTime} start) included.
 *
 * <p>Stateless: its functions run on the connection's loop thread, where its counters live.
 */
final class CountersPacking {
  /** The packed form of counters whose figures are all zero. */
  static final byte[] ALL_ZERO = new byte[0];

  private static final int SCALARS = 26;
  private static final int FRAMES_IN = SCALARS;
  private static final int FRAMES_OUT = FRAMES_IN + ConnectionCounters.FRAME_TYPES;
  private static final int ERROR_CODES = FRAMES_OUT + ConnectionCounters.FRAME_TYPES;
  private static final int ERROR_CODE_SLOTS = 4 * ConnectionCounters.ERROR_CODE_SLOTS;
  /** Written (as 1) when the error-code tables exist, so unpacking allocates exactly them. */
  private static final int ERROR_TABLES_PRESENT = ERROR_CODES + ERROR_CODE_SLOTS;
  private static final int SLOTS = ERROR_TABLES_PRESENT + 1;

  private CountersPacking() {}

  static byte[] pack(Values v) {
    long[] slots = new long[SLOTS];
    long[] scalars = {v.readableEvents, v.readSyscalls, v.bytesRead, v.writeSyscalls,
        v.bytesWritten, v.shortWrites, v.flushes, v.socketNotWritableNanos,
        v.notWritableSinceNanos, v.maxQueueDepth, v.dataTurns, v.streamsBlockedOnWindow,
        v.streamWindowBlockedSinceNanos, v.streamWindowBlockedNanos, v.streamWindowBlockedEvents,
        v.streamWindowBlockedBytes, v.connectionWindowBlockedSinceNanos,
        v.connectionWindowBlockedNanos, v.connectionWindowBlockedEvents,
        v.peerFilledStreamWindow, v.peerFilledConnectionWindow, v.pingsSent, v.pingAcksReceived,
        v.pingRttNanosTotal, v.pingRttNanosLast, v.pingSentAtNanos};
    System.arraycopy(scalars, 0, slots, 0, SCALARS);
    System.arraycopy(v.framesIn, 0, slots, FRAMES_IN, ConnectionCounters.FRAME_TYPES);
    System.arraycopy(v.framesOut, 0, slots, FRAMES_OUT, ConnectionCounters.FRAME_TYPES);
    if (v.errorCodes != null) {
      System.arraycopy(v.errorCodes, 0, slots, ERROR_CODES, ERROR_CODE_SLOTS);
      slots[ERROR_TABLES_PRESENT] = 1;
    }
    int size = 0;
    int last = -1;
    for (int i = 0; i < SLOTS; i++) {
      if (slots[i] != 0) {
        size += varintBytes(i - last - 1) + varintBytes(slots[i]);
        last = i;
      }
    }
    if (size == 0) {
      return ALL_ZERO;
    }
    byte[] out = new byte[size];
    int at = 0;
    last = -1;
    for (int i = 0; i < SLOTS; i++) {
      if (slots[i] != 0) {
        at = putVarint(out, at, i - last - 1);
        at = putVarint(out, at, slots[i]);
        last = i;
      }
    }
    return out;
  }

  static Values unpack(byte[] packed) {
    long[] slots = new long[SLOTS];
    int slot = -1;
    int[] at = {0};
    while (at[0] < packed.length) {
      slot += 1 + (int) getVarint(packed, at);
      slots[slot] = getVarint(packed, at);
    }
    Values v = new Values();
    int i = 0;
    v.readableEvents = slots[i++];
    v.readSyscalls = slots[i++];
    v.bytesRead = slots[i++];
    v.writeSyscalls = slots[i++];
    v.bytesWritten = slots[i++];
    v.shortWrites = slots[i++];
    v.flushes = slots[i++];
    v.socketNotWritableNanos = slots[i++];
    v.notWritableSinceNanos = slots[i++];
    v.maxQueueDepth = slots[i++];
    v.dataTurns = slots[i++];
    v.streamsBlockedOnWindow = (int) slots[i++];
    v.streamWindowBlockedSinceNanos = slots[i++];
    v.streamWindowBlockedNanos = slots[i++];
    v.streamWindowBlockedEvents = slots[i++];
    v.streamWindowBlockedBytes = slots[i++];
    v.connectionWindowBlockedSinceNanos = slots[i++];
    v.connectionWindowBlockedNanos = slots[i++];
    v.connectionWindowBlockedEvents = slots[i++];
    v.peerFilledStreamWindow = slots[i++];
    v.peerFilledConnectionWindow = slots[i++];
    v.pingsSent = slots[i++];
    v.pingAcksReceived = slots[i++];
    v.pingRttNanosTotal = slots[i++];
    v.pingRttNanosLast = slots[i++];
    v.pingSentAtNanos = slots[i++];
    assert i == SCALARS;
    System.arraycopy(slots, FRAMES_IN, v.framesIn, 0, ConnectionCounters.FRAME_TYPES);
    System.arraycopy(slots, FRAMES_OUT, v.framesOut, 0, ConnectionCounters.FRAME_TYPES);
    if (slots[ERROR_TABLES_PRESENT] != 0) {
      v.errorCodes = new long[ERROR_CODE_SLOTS];
      System.arraycopy(slots, ERROR_CODES, v.errorCodes, 0, ERROR_CODE_SLOTS);
    }
    return v;
  }

  static int varintBytes(long value) {
    int n = 1;
    while ((value & ~0x7FL) != 0) {
      value >>>= 7;
      n++;
    }
    return n;
  }

  static int putVarint(byte[] out, int at, long value) {
    while ((value & ~0x7FL) != 0) {
      out[at++] = (byte) ((value & 0x7F) | 0x80);
      value >>>= 7;
    }
    out[at++] = (byte) value;
    return at;
  }

  static long getVarint(byte[] in, int[] at) {
    long value = 0;
    for (int shift = 0; ; shift += 7) {
      byte b = in[at[0]++];
      value |= (long) (b & 0x7F) << shift;
      if (b >= 0) {
        return value;
      }
    }
  }
}
