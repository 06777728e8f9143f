package dev.grpclean.transport;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.frame.FrameType;
import java.nio.ByteBuffer;

/**
 * Always-on counters of one HTTP/2 connection: what its reads, writes, writer queue, flow control
 * and frames did since it opened. Each write site in the loop code is a one-line call of a method
 * here; nothing is allocated per event (the error-code tables are allocated on the first
 * RST_STREAM or GOAWAY, the {@link ActivityHistograms} once the connection is busy, each once per
 * connection). Time figures come from {@link System#nanoTime} read only at state changes (a
 * window closing or opening, the socket refusing or taking bytes) and, once the histograms exist,
 * twice per readiness event, never per frame.
 *
 * <p>Off switch: a connection built with counting off ({@code connectionCounters(false)} on the
 * builders, or {@code -Dgrpclean.connectionCounters=false} for every builder) gets counters whose
 * {@link #on} is false, and every method returns at its first line: no field is written.
 *
 * <p>Units: counts are events, {@code *Bytes} are bytes, {@code *Nanos} are nanoseconds. The
 * figures and their meaning are listed in {@link Figure}.
 *
 * <p>Confined to the connection's loop thread: written there only, and read there only, by {@link
 * #addTo} when a {@link ConnectionStatsGroup} takes a snapshot on the loop. Other threads never
 * read these fields.
 */
final class ConnectionCounters {
  /** Codes past the last RFC 9113 §7 code share the last slot of the by-code tables. */
  static final int ERROR_CODE_SLOTS = LeanConnectionStats.ERROR_CODE_SLOTS;
  /** Frame types DATA (0) to CONTINUATION (9); unknown types are not counted by type. */
  static final int FRAME_TYPES = LeanConnectionStats.FRAME_TYPES;

  /**
   * Reads and writes after which a connection counts as busy and gets its {@link
   * ActivityHistograms}: a connection that only handshakes (preface, SETTINGS and their acks, a few
   * syscalls each way) and then idles never carries them (issue 11's idle footprint).
   */
  static final long SYSCALLS_BEFORE_HISTOGRAMS = 32;

  /** False: nothing is counted (see the class note). */
  final boolean on;
  /** Per-read and per-write distributions; null until the connection is busy. */
  @javax.annotation.Nullable private ActivityHistograms histograms;
  /** Sampled control-queue waits; null until the connection is busy (has its histograms). */
  @javax.annotation.Nullable private ControlQueueWait queueWait;

  // reads
  long readableEvents;
  long readSyscalls;
  long bytesRead;
  // writes
  long writeSyscalls;
  long bytesWritten;
  long shortWrites;
  long flushes;
  long socketNotWritableNanos;
  /** When the socket last refused bytes (write interest on); 0 while it takes everything. */
  long notWritableSinceNanos;
  // the loopy writer
  long maxQueueDepth;
  long dataTurns;
  // flow control, outbound (the peer's windows)
  /** Streams that have bytes queued and no send window left, now. */
  int streamsBlockedOnWindow;
  long streamWindowBlockedSinceNanos;
  long streamWindowBlockedNanos;
  long streamWindowBlockedEvents;
  long streamWindowBlockedBytes;
  long connectionWindowBlockedSinceNanos;
  long connectionWindowBlockedNanos;
  long connectionWindowBlockedEvents;
  // flow control, inbound (our windows)
  long peerFilledStreamWindow;
  long peerFilledConnectionWindow;
  // protocol
  /** Frames read, by type: written by the {@link dev.grpclean.transport.frame.FrameReader}. */
  final long[] framesIn = new long[FRAME_TYPES];
  final long[] framesOut = new long[FRAME_TYPES];
  /** Inbound RST_STREAM, inbound GOAWAY, outbound RST_STREAM, outbound GOAWAY, by code. */
  private long[] errorCodes;
  long pingsSent;
  long pingAcksReceived;
  long pingRttNanosTotal;
  long pingRttNanosLast;
  /** When our last PING left; 0 when no ack is awaited. */
  private long pingSentAtNanos;

  ConnectionCounters(boolean on) {
    this.on = on;
  }

  // ------------------------------------------------------------ write sites

  /** The socket was reported readable (starts the readable-to-delivered time once busy). */
  void readable() {
    if (!on) {
      return;
    }
    readableEvents++;
    if (histograms != null) {
      histograms.readableStarted(framesInTotal());
    }
  }

  /** One {@code read} call returned {@code n} (negative at end of input). */
  void readSyscall(int n) {
    if (!on) {
      return;
    }
    readSyscalls++;
    if (n > 0) {
      bytesRead += n;
      if (histograms != null) {
        histograms.read(n, framesInTotal());
      } else if (readSyscalls + writeSyscalls >= SYSCALLS_BEFORE_HISTOGRAMS) {
        histograms = new ActivityHistograms();
      }
    }
  }

  /** The frames of the bytes of the last read were handed on. */
  void readConsumed() {
    if (on && histograms != null) {
      histograms.readConsumed(framesInTotal());
    }
  }

  /** The readiness event's reads and deliveries are done. */
  void readableDone() {
    if (on && histograms != null) {
      histograms.readableDone(framesInTotal());
    }
  }

  /** One {@code write} call took {@code n} bytes (0: the send buffer is full). */
  void wrote(int n) {
    if (!on) {
      return;
    }
    writeSyscalls++;
    bytesWritten += n;
    if (n == 0) {
      shortWrites++;
    } else if (histograms != null) {
      histograms.wrote(n);
    }
  }

  /** The writer had something to write. */
  void flushed() {
    if (on) {
      flushes++;
    }
  }

  /** An item joined the writer's control queue, which now holds {@code depth}. */
  void queued(int depth) {
    if (on && depth > maxQueueDepth) {
      maxQueueDepth = depth;
    }
    if (on && histograms != null) {
      (queueWait != null ? queueWait
          : (queueWait = new ControlQueueWait(depth - 1, System::nanoTime))).enqueued(depth);
    }
  }

  /** The writer's oldest control-queue item was encoded for the socket. */
  void dequeued() {
    if (queueWait != null) {
      queueWait.dequeued();
    }
  }

  /** A DATA frame left; {@code turn}: a round-robin turn carrying bytes (not an empty end). */
  void dataFrameOut(boolean turn) {
    if (!on) {
      return;
    }
    framesOut[FrameType.DATA]++;
    if (turn) {
      dataTurns++;
    }
  }

  /** A header block left (counted as one HEADERS frame). */
  void headersOut() {
    if (on) {
      framesOut[FrameType.HEADERS]++;
    }
  }

  /** The peer sent our connection window down to 0. */
  void peerFilledConnectionWindow() {
    if (on) {
      peerFilledConnectionWindow++;
    }
  }

  /** The peer sent a stream's window down to 0. */
  void peerFilledStreamWindow() {
    if (on) {
      peerFilledStreamWindow++;
    }
  }

  private long framesInTotal() {
    long sum = 0;
    for (long n : framesIn) {
      sum += n;
    }
    return sum;
  }

  /** A stream has queued bytes and no window: starts the blocked interval if it is the first. */
  void streamBlockedOnWindow(int queuedBytes) {
    if (!on) {
      return;
    }
    streamWindowBlockedEvents++;
    streamWindowBlockedBytes += queuedBytes;
    if (streamsBlockedOnWindow++ == 0) {
      streamWindowBlockedSinceNanos = System.nanoTime();
    }
  }

  /** A blocked stream got window, sent its last byte, or went away. */
  void streamUnblocked() {
    if (!on) {
      return;
    }
    if (--streamsBlockedOnWindow == 0) {
      streamWindowBlockedNanos += System.nanoTime() - streamWindowBlockedSinceNanos;
    }
  }

  /** DATA waits for the connection window only (called once per blocked spell). */
  void connectionWindowBlocked() {
    if (!on) {
      return;
    }
    if (connectionWindowBlockedSinceNanos == 0) {
      connectionWindowBlockedEvents++;
      connectionWindowBlockedSinceNanos = nonZeroNanoTime();
    }
  }

  /** The connection window opened. */
  void connectionWindowOpened() {
    if (!on) {
      return;
    }
    if (connectionWindowBlockedSinceNanos != 0) {
      connectionWindowBlockedNanos += System.nanoTime() - connectionWindowBlockedSinceNanos;
      connectionWindowBlockedSinceNanos = 0;
    }
  }

  /** Write interest was turned on (the socket refused bytes) or off (it took them). */
  void writeInterest(boolean interested) {
    if (!on) {
      return;
    }
    if (interested) {
      if (notWritableSinceNanos == 0) {
        notWritableSinceNanos = nonZeroNanoTime();
      }
    } else if (notWritableSinceNanos != 0) {
      socketNotWritableNanos += System.nanoTime() - notWritableSinceNanos;
      notWritableSinceNanos = 0;
    }
  }

  /**
   * A control frame was just written into {@code out} at {@code start}: counts it by type,
   * RST_STREAM and GOAWAY by code, and notes when a PING (not an ack) left for the RTT.
   */
  void controlFrameWritten(ByteBuffer out, int start) {
    if (!on) {
      return;
    }
    int type = out.get(start + 3) & 0xFF;
    if (type >= FRAME_TYPES) {
      return;
    }
    framesOut[type]++;
    int payload = start + FrameType.FRAME_HEADER_BYTES;
    if (type == FrameType.RST_STREAM) {
      countCode(2, out.getInt(payload) & 0xFFFF_FFFFL);
    } else if (type == FrameType.GOAWAY) {
      countCode(3, out.getInt(payload + 4) & 0xFFFF_FFFFL);
    } else if (type == FrameType.PING && (out.get(start + 4) & FrameType.ACK) == 0) {
      pingsSent++;
      pingSentAtNanos = nonZeroNanoTime();
    }
  }

  void rstStreamReceived(long code) {
    if (!on) {
      return;
    }
    countCode(0, code);
  }

  void goAwayReceived(long code) {
    if (!on) {
      return;
    }
    countCode(1, code);
  }

  /** A PING ack arrived: the round trip since our last PING left (one outstanding at a time). */
  void pingAckReceived() {
    if (!on) {
      return;
    }
    pingAcksReceived++;
    if (pingSentAtNanos != 0) {
      pingRttNanosLast = System.nanoTime() - pingSentAtNanos;
      pingRttNanosTotal += pingRttNanosLast;
      pingSentAtNanos = 0;
    }
  }

  private void countCode(int table, long code) {
    if (errorCodes == null) {
      errorCodes = new long[4 * ERROR_CODE_SLOTS];
    }
    int slot = code < ERROR_CODE_SLOTS - 1 ? (int) code : ERROR_CODE_SLOTS - 1;
    errorCodes[table * ERROR_CODE_SLOTS + slot]++;
  }

  /** {@link System#nanoTime} never 0, so 0 can mean "not in that state". */
  private static long nonZeroNanoTime() {
    long now = System.nanoTime();
    return now == 0 ? 1 : now;
  }

  // ------------------------------------------------------------ reading (loop thread)

  /**
   * Adds these counters to {@code sum}, with the intervals still open counted up to {@code
   * nowNanos}. {@code queueDepth} is the writer's control-queue depth now; the "now" figures
   * count only while the connection is {@code open}.
   */
  void addTo(LeanConnectionStats.Builder sum, long nowNanos, int queueDepth, boolean open) {
    sum.add(Figure.READABLE_EVENTS, readableEvents);
    sum.add(Figure.READ_SYSCALLS, readSyscalls);
    sum.add(Figure.BYTES_READ, bytesRead);
    sum.add(Figure.WRITE_SYSCALLS, writeSyscalls);
    sum.add(Figure.BYTES_WRITTEN, bytesWritten);
    sum.add(Figure.SHORT_WRITES, shortWrites);
    sum.add(Figure.FLUSHES, flushes);
    sum.add(Figure.SOCKET_NOT_WRITABLE_NANOS, socketNotWritableNanos
        + (notWritableSinceNanos == 0 ? 0 : nowNanos - notWritableSinceNanos));
    sum.add(Figure.QUEUE_DEPTH, queueDepth);
    sum.max(Figure.MAX_QUEUE_DEPTH, Math.max(maxQueueDepth, queueDepth));
    sum.add(Figure.DATA_TURNS, dataTurns);
    sum.add(Figure.STREAMS_BLOCKED_ON_WINDOW, open ? streamsBlockedOnWindow : 0);
    sum.add(Figure.STREAM_WINDOW_BLOCKED_NANOS, streamWindowBlockedNanos
        + (streamsBlockedOnWindow == 0 ? 0 : nowNanos - streamWindowBlockedSinceNanos));
    sum.add(Figure.STREAM_WINDOW_BLOCKED_EVENTS, streamWindowBlockedEvents);
    sum.add(Figure.STREAM_WINDOW_BLOCKED_BYTES, streamWindowBlockedBytes);
    sum.add(Figure.CONNECTION_WINDOW_BLOCKED_NANOS, connectionWindowBlockedNanos
        + (connectionWindowBlockedSinceNanos == 0 ? 0
            : nowNanos - connectionWindowBlockedSinceNanos));
    sum.add(Figure.CONNECTION_WINDOW_BLOCKED_EVENTS, connectionWindowBlockedEvents);
    sum.add(Figure.PEER_FILLED_STREAM_WINDOW, peerFilledStreamWindow);
    sum.add(Figure.PEER_FILLED_CONNECTION_WINDOW, peerFilledConnectionWindow);
    sum.add(Figure.PINGS_SENT, pingsSent);
    sum.add(Figure.PING_ACKS_RECEIVED, pingAcksReceived);
    sum.add(Figure.PING_RTT_NANOS_TOTAL, pingRttNanosTotal);
    sum.max(Figure.PING_RTT_NANOS_LAST, pingRttNanosLast);
    sum.addFrames(framesIn, framesOut);
    if (errorCodes != null) {
      sum.addErrorCodes(errorCodes);
    }
    if (histograms != null) {
      histograms.addTo(sum);
    }
    if (queueWait != null) {
      queueWait.addTo(sum, nowNanos);
    }
  }
}
