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
 * <p>Hibernation: an idle connection's figures are packed into varint bytes ({@link
 * #hibernate}, {@link CountersPacking}) and unpacked by the next write site, so an idle
 * connection's counters cost a 24-byte object and a few dozen bytes instead of ~0.4 KiB; reads
 * ({@link #addTo}) see the same figures in either form.
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
  /**
   * The connection's index in its {@link ConnectionStatsGroup}'s list of open connections, -1
   * outside it. Not a figure: the group's to read and write, under the group's lock (kept here
   * because this object had room for it; in the connection it cost 8 bytes more).
   */
  int groupIndex = -1;
  /** Per-read and per-write distributions; null until the connection is busy. */
  @javax.annotation.Nullable private ActivityHistograms histograms;
  /** Per-stream summaries of ended streams; null until the connection is busy (as histograms). */
  @javax.annotation.Nullable private StreamSummaries streams;
  /** Sampled control-queue waits; null until the connection is busy (has its histograms). */
  @javax.annotation.Nullable private ControlQueueWait queueWait;
  /**
   * The figures: a {@link Values} while awake, their packed bytes ({@link CountersPacking}) while
   * the connection hibernates ({@link #hibernate}), null when counting is off. One field for both
   * forms keeps a hibernated connection's counters at a 24-byte object plus its bytes.
   */
  @javax.annotation.Nullable private Object state;

  /** What a connection that counts nothing reports: zeros. Never written. */
  private static final Values OFF = new Values();

  ConnectionCounters(boolean on) {
    this.on = on;
    this.state = on ? new Values() : null;
  }

  /**
   * The figures of an awake connection. Each write site below starts with {@link #values}, which
   * unpacks hibernated figures first; {@link #addTo} reads packed ones without waking them.
   */
  static final class Values {
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
    long[] errorCodes;
    long pingsSent;
    long pingAcksReceived;
    long pingRttNanosTotal;
    long pingRttNanosLast;
    /** When our last PING left; 0 when no ack is awaited. */
    long pingSentAtNanos;
  }

  /** The figures to write, woken from their packed form if needed; null when counting is off. */
  @javax.annotation.Nullable
  private Values values() {
    Object s = state;
    if (s instanceof Values) {
      return (Values) s;
    }
    if (s == null) {
      return null;
    }
    Values v = CountersPacking.unpack((byte[]) s);
    state = v;
    return v;
  }

  /** The awake figures (woken if packed), for the frame reader's by-type counts and for tests. */
  Values live() {
    Values v = values();
    if (v == null) {
      throw new IllegalStateException("counting is off");
    }
    return v;
  }

  /**
   * The connection hibernates ({@link Http2Connection#sweepIdle}): the figures are written down as
   * varint bytes of their non-zero slots (one shared empty array when every one is zero), to be
   * unpacked by the next write. Nothing outside this class may hold the arrays across it: the
   * frame reader, the one holder of {@link Values#framesIn}, is dropped before a connection
   * hibernates. No-op when counting is off or already packed.
   */
  void hibernate() {
    if (state instanceof Values) {
      state = CountersPacking.pack((Values) state);
    }
  }

  /** Bytes of the packed figures while packed; -1 while awake or off. */
  int packedBytes() {
    return state instanceof byte[] ? ((byte[]) state).length : -1;
  }

  /** Whether the figures are packed now. */
  boolean isPacked() {
    return state instanceof byte[];
  }

  // ------------------------------------------------------------ write sites

  /**
   * Starts the per-stream summaries now with {@code clock} instead of once the connection is
   * busy (tests: a fake clock, and streams summarised from the first). No-op when counting is off.
   */
  void startStreamSummaries(java.util.function.LongSupplier clock) {
    if (on) {
      streams = new StreamSummaries(clock);
    }
  }

  /**
   * The per-stream clock: the time now, never 0, while streams are summarised; 0 when they are
   * not (counting off, or the connection not busy yet), which leaves a stream's intervals unopened.
   */
  long streamNanos() {
    return streams == null ? 0 : streams.now();
  }

  /** Stream {@code s} ended: its figures are folded into the summaries (when kept). */
  void streamEnded(OutboundStream s) {
    if (streams != null) {
      streams.streamEnded(s);
    }
  }

  /**
   * HEADERS and DATA frames read so far; -1 when counting is off or the figures are packed (an
   * idle connection: reading them does not wake them).
   */
  long streamFramesIn() {
    if (!(state instanceof Values)) {
      return -1;
    }
    long[] in = ((Values) state).framesIn;
    return in[FrameType.HEADERS] + in[FrameType.DATA];
  }

  /** Whether a PING of ours awaits its ack (figures packed or off: none). */
  boolean pingAwaitingAck() {
    return state instanceof Values && ((Values) state).pingSentAtNanos != 0;
  }

  /** The socket was reported readable (starts the readable-to-delivered time once busy). */
  void readable() {
    Values v = values();
    if (v == null) {
      return;
    }
    v.readableEvents++;
    if (histograms != null) {
      histograms.readableStarted(framesInTotal());
    }
  }

  /** One {@code read} call returned {@code n} (negative at end of input). */
  void readSyscall(int n) {
    Values v = values();
    if (v == null) {
      return;
    }
    v.readSyscalls++;
    if (n > 0) {
      v.bytesRead += n;
      if (histograms != null) {
        histograms.read(n, framesInTotal());
      } else if (v.readSyscalls + v.writeSyscalls >= SYSCALLS_BEFORE_HISTOGRAMS) {
        histograms = new ActivityHistograms();
        if (streams == null) {
          streams = new StreamSummaries(System::nanoTime);
        }
      }
    }
  }

  /** The frames of the bytes of the last read were handed on. */
  void readConsumed() {
    if (histograms != null && state instanceof Values) {
      histograms.readConsumed(framesInTotal());
    }
  }

  /** The readiness event's reads and deliveries are done. */
  void readableDone() {
    if (histograms != null && state instanceof Values) {
      histograms.readableDone(framesInTotal());
    }
  }

  /** One {@code write} call took {@code n} bytes (0: the send buffer is full). */
  void wrote(int n) {
    Values v = values();
    if (v == null) {
      return;
    }
    v.writeSyscalls++;
    v.bytesWritten += n;
    if (n == 0) {
      v.shortWrites++;
    } else if (histograms != null) {
      histograms.wrote(n);
    }
  }

  /** The writer had something to write. */
  void flushed() {
    Values v = values();
    if (v != null) {
      v.flushes++;
    }
  }

  /** An item joined the writer's control queue, which now holds {@code depth}. */
  void queued(int depth) {
    Values v = values();
    if (v != null && depth > v.maxQueueDepth) {
      v.maxQueueDepth = depth;
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
    Values v = values();
    if (v == null) {
      return;
    }
    v.framesOut[FrameType.DATA]++;
    if (turn) {
      v.dataTurns++;
    }
  }

  /** A header block left (counted as one HEADERS frame). */
  void headersOut() {
    Values v = values();
    if (v != null) {
      v.framesOut[FrameType.HEADERS]++;
    }
  }

  /** The peer sent our connection window down to 0. */
  void peerFilledConnectionWindow() {
    Values v = values();
    if (v != null) {
      v.peerFilledConnectionWindow++;
    }
  }

  /** The peer sent a stream's window down to 0. */
  void peerFilledStreamWindow() {
    Values v = values();
    if (v != null) {
      v.peerFilledStreamWindow++;
    }
  }

  /** Frames read so far; only called while awake (histograms exist only when counting). */
  private long framesInTotal() {
    long sum = 0;
    for (long n : ((Values) state).framesIn) {
      sum += n;
    }
    return sum;
  }

  /** A stream has queued bytes and no window: starts the blocked interval if it is the first. */
  void streamBlockedOnWindow(int queuedBytes) {
    Values v = values();
    if (v == null) {
      return;
    }
    v.streamWindowBlockedEvents++;
    v.streamWindowBlockedBytes += queuedBytes;
    if (v.streamsBlockedOnWindow++ == 0) {
      v.streamWindowBlockedSinceNanos = System.nanoTime();
    }
  }

  /** A blocked stream got window, sent its last byte, or went away. */
  void streamUnblocked() {
    Values v = values();
    if (v == null) {
      return;
    }
    if (--v.streamsBlockedOnWindow == 0) {
      v.streamWindowBlockedNanos += System.nanoTime() - v.streamWindowBlockedSinceNanos;
    }
  }

  /** DATA waits for the connection window only (called once per blocked spell). */
  void connectionWindowBlocked() {
    Values v = values();
    if (v == null) {
      return;
    }
    if (v.connectionWindowBlockedSinceNanos == 0) {
      v.connectionWindowBlockedEvents++;
      v.connectionWindowBlockedSinceNanos = nonZeroNanoTime();
    }
  }

  /** The connection window opened. */
  void connectionWindowOpened() {
    Values v = values();
    if (v == null) {
      return;
    }
    if (v.connectionWindowBlockedSinceNanos != 0) {
      v.connectionWindowBlockedNanos += System.nanoTime() - v.connectionWindowBlockedSinceNanos;
      v.connectionWindowBlockedSinceNanos = 0;
    }
  }

  /** Write interest was turned on (the socket refused bytes) or off (it took them). */
  void writeInterest(boolean interested) {
    Values v = values();
    if (v == null) {
      return;
    }
    if (interested) {
      if (v.notWritableSinceNanos == 0) {
        v.notWritableSinceNanos = nonZeroNanoTime();
      }
    } else if (v.notWritableSinceNanos != 0) {
      v.socketNotWritableNanos += System.nanoTime() - v.notWritableSinceNanos;
      v.notWritableSinceNanos = 0;
    }
  }

  /**
   * A control frame was just written into {@code out} at {@code start}: counts it by type,
   * RST_STREAM and GOAWAY by code, and notes when a PING (not an ack) left for the RTT.
   */
  void controlFrameWritten(ByteBuffer out, int start) {
    Values v = values();
    if (v == null) {
      return;
    }
    int type = out.get(start + 3) & 0xFF;
    if (type >= FRAME_TYPES) {
      return;
    }
    v.framesOut[type]++;
    int payload = start + FrameType.FRAME_HEADER_BYTES;
    if (type == FrameType.RST_STREAM) {
      countCode(v, 2, out.getInt(payload) & 0xFFFF_FFFFL);
    } else if (type == FrameType.GOAWAY) {
      countCode(v, 3, out.getInt(payload + 4) & 0xFFFF_FFFFL);
    } else if (type == FrameType.PING && (out.get(start + 4) & FrameType.ACK) == 0) {
      v.pingsSent++;
      v.pingSentAtNanos = nonZeroNanoTime();
    }
  }

  void rstStreamReceived(long code) {
    Values v = values();
    if (v == null) {
      return;
    }
    countCode(v, 0, code);
  }

  void goAwayReceived(long code) {
    Values v = values();
    if (v == null) {
      return;
    }
    countCode(v, 1, code);
  }

  /** A PING ack arrived: the round trip since our last PING left (one outstanding at a time). */
  void pingAckReceived() {
    Values v = values();
    if (v == null) {
      return;
    }
    v.pingAcksReceived++;
    if (v.pingSentAtNanos != 0) {
      v.pingRttNanosLast = System.nanoTime() - v.pingSentAtNanos;
      v.pingRttNanosTotal += v.pingRttNanosLast;
      v.pingSentAtNanos = 0;
    }
  }

  private static void countCode(Values v, int table, long code) {
    if (v.errorCodes == null) {
      v.errorCodes = new long[4 * ERROR_CODE_SLOTS];
    }
    int slot = code < ERROR_CODE_SLOTS - 1 ? (int) code : ERROR_CODE_SLOTS - 1;
    v.errorCodes[table * ERROR_CODE_SLOTS + slot]++;
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
    // Packed figures are read without waking them: a snapshot does not undo hibernation.
    Object s = state;
    Values v = s instanceof Values ? (Values) s
        : s != null ? CountersPacking.unpack((byte[]) s) : OFF;
    sum.add(Figure.READABLE_EVENTS, v.readableEvents);
    sum.add(Figure.READ_SYSCALLS, v.readSyscalls);
    sum.add(Figure.BYTES_READ, v.bytesRead);
    sum.add(Figure.WRITE_SYSCALLS, v.writeSyscalls);
    sum.add(Figure.BYTES_WRITTEN, v.bytesWritten);
    sum.add(Figure.SHORT_WRITES, v.shortWrites);
    sum.add(Figure.FLUSHES, v.flushes);
    sum.add(Figure.SOCKET_NOT_WRITABLE_NANOS, v.socketNotWritableNanos
        + (v.notWritableSinceNanos == 0 ? 0 : nowNanos - v.notWritableSinceNanos));
    sum.add(Figure.QUEUE_DEPTH, queueDepth);
    sum.max(Figure.MAX_QUEUE_DEPTH, Math.max(v.maxQueueDepth, queueDepth));
    sum.add(Figure.DATA_TURNS, v.dataTurns);
    sum.add(Figure.STREAMS_BLOCKED_ON_WINDOW, open ? v.streamsBlockedOnWindow : 0);
    sum.add(Figure.STREAM_WINDOW_BLOCKED_NANOS, v.streamWindowBlockedNanos
        + (v.streamsBlockedOnWindow == 0 ? 0 : nowNanos - v.streamWindowBlockedSinceNanos));
    sum.add(Figure.STREAM_WINDOW_BLOCKED_EVENTS, v.streamWindowBlockedEvents);
    sum.add(Figure.STREAM_WINDOW_BLOCKED_BYTES, v.streamWindowBlockedBytes);
    sum.add(Figure.CONNECTION_WINDOW_BLOCKED_NANOS, v.connectionWindowBlockedNanos
        + (v.connectionWindowBlockedSinceNanos == 0 ? 0
            : nowNanos - v.connectionWindowBlockedSinceNanos));
    sum.add(Figure.CONNECTION_WINDOW_BLOCKED_EVENTS, v.connectionWindowBlockedEvents);
    sum.add(Figure.PEER_FILLED_STREAM_WINDOW, v.peerFilledStreamWindow);
    sum.add(Figure.PEER_FILLED_CONNECTION_WINDOW, v.peerFilledConnectionWindow);
    sum.add(Figure.PINGS_SENT, v.pingsSent);
    sum.add(Figure.PING_ACKS_RECEIVED, v.pingAcksReceived);
    sum.add(Figure.PING_RTT_NANOS_TOTAL, v.pingRttNanosTotal);
    sum.max(Figure.PING_RTT_NANOS_LAST, v.pingRttNanosLast);
    sum.addFrames(v.framesIn, v.framesOut);
    if (v.errorCodes != null) {
      sum.addErrorCodes(v.errorCodes);
    }
    if (histograms != null) {
      histograms.addTo(sum);
    }
    if (queueWait != null) {
      queueWait.addTo(sum, nowNanos);
    }
    if (streams != null) {
      streams.addTo(sum);
    }
  }
}
