package dev.grpclean.transport;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * What the connections of one server or channel did, summed: an immutable snapshot taken by
 * {@link ConnectionStatsGroup#snapshot()}. Figures are cumulative since the server or channel was
 * built (closed connections included) unless {@link Figure} says "now"; two snapshots give rates
 * ({@link #minus}).
 *
 * <p>Immutable; thread-safe.
 */
public final class LeanConnectionStats {
  /** HTTP/2 frame types DATA (0x0) to CONTINUATION (0x9). */
  public static final int FRAME_TYPES = 10;
  /** RFC 9113 §7 codes 0x0 to 0xd, then one slot for every other code. */
  public static final int ERROR_CODE_SLOTS = 15;

  /** One figure; the unit is in the name (events unless it ends in bytes or nanos). */
  public enum Figure {
    /** Connections open now. */
    CONNECTIONS_OPEN,
    /** Connections opened since start. */
    CONNECTIONS_OPENED,
    /** Readiness events that found the socket readable. */
    READABLE_EVENTS,
    /** {@code read} calls on the socket (including the one that finds it drained). */
    READ_SYSCALLS,
    /** Bytes read from the socket (records included, before decryption). */
    BYTES_READ,
    /** {@code write} calls on the socket. */
    WRITE_SYSCALLS,
    /** Bytes the socket took. */
    BYTES_WRITTEN,
    /** Writes the socket took none of (its send buffer was full). */
    SHORT_WRITES,
    /** Writer drains that had something to write. */
    FLUSHES,
    /** Time with bytes waiting for the socket to become writable (our send buffer full). */
    SOCKET_NOT_WRITABLE_NANOS,
    /** Items in the writers' control queues now (control frames and header blocks). */
    QUEUE_DEPTH,
    /** The deepest control queue seen (largest over the connections). */
    MAX_QUEUE_DEPTH,
    /** DATA frames the writers' round robin emitted (one per stream per turn at most). */
    DATA_TURNS,
    /** Streams that have bytes queued and no send window now. */
    STREAMS_BLOCKED_ON_WINDOW,
    /** Time at least one stream had bytes queued and no send window (per connection, summed). */
    STREAM_WINDOW_BLOCKED_NANOS,
    /** Times a stream ran out of the peer's stream window with bytes queued. */
    STREAM_WINDOW_BLOCKED_EVENTS,
    /** Bytes queued on a stream each time it ran out of its window. */
    STREAM_WINDOW_BLOCKED_BYTES,
    /** Time DATA waited for the peer's connection window (per connection, summed). */
    CONNECTION_WINDOW_BLOCKED_NANOS,
    /** Times DATA started waiting for the peer's connection window. */
    CONNECTION_WINDOW_BLOCKED_EVENTS,
    /** Times the peer sent a stream's whole receive window (our window closed to 0). */
    PEER_FILLED_STREAM_WINDOW,
    /** Times the peer sent the connection's whole receive window. */
    PEER_FILLED_CONNECTION_WINDOW,
    /** PINGs we sent (keepalive, BDP probes, graceful shutdown). */
    PINGS_SENT,
    /** PING acks received. */
    PING_ACKS_RECEIVED,
    /** Round trips of acknowledged PINGs, summed. */
    PING_RTT_NANOS_TOTAL,
    /** The latest PING round trip (the largest among connections). */
    PING_RTT_NANOS_LAST,
    /** The peer's SETTINGS_INITIAL_WINDOW_SIZE: our streams' send window (the largest). */
    PEER_INITIAL_WINDOW_BYTES,
    /** Our receive window per stream and per connection, flowControlWindow (the largest). */
    OUR_WINDOW_BYTES,
    /** Poller threads that own this group's connections now. */
    LOOP_THREADS,
    /** Channels (connections and listeners, of any group) those poller threads own now. */
    LOOP_CHANNELS_OWNED,
    /** Time those poller threads were not waiting for readiness or tasks (summed over them). */
    LOOP_BUSY_NANOS,
    /** Time those poller threads waited in {@code select} (summed over them). */
    LOOP_WAIT_NANOS,
    /** Tasks other threads handed to those poller threads. */
    LOOP_TASKS_RUN,
    /** Times those poller threads found nothing to do and blocked in {@code select}. */
    LOOP_WAITS,
    /**
     * Times another thread woke one of those poller threads out of {@code select} to run a task
     * (a {@code Selector.wakeup}: an eventfd write, and the loop's read of it).
     */
    LOOP_WAKEUPS,
    /** Times those poller threads yielded before their end-of-batch flushes. */
    LOOP_YIELDS_BEFORE_FLUSH,
    /** Of those, yields after which other threads' tasks had arrived to join the batch. */
    LOOP_FRUITFUL_YIELDS,
    /** Tasks the application's executor ran (0 when the transport cannot see the executor). */
    EXECUTOR_TASKS,
    /** Executor tasks whose queueing and run time were measured (a sample of them). */
    EXECUTOR_SAMPLED_TASKS,
    /** Time sampled tasks waited between being handed to the executor and starting to run. */
    EXECUTOR_QUEUE_WAIT_NANOS,
    /** Time sampled tasks ran (the application's handlers and grpc-core's callbacks). */
    EXECUTOR_RUN_NANOS,
    /** Collections of this JVM's garbage collectors that stop the application (process-wide). */
    GC_PAUSES,
    /** Time in those collections (process-wide; concurrent cycles are not counted). */
    GC_PAUSE_NANOS,
    /**
     * Items written from the writers' control queues while their waits were being sampled
     * (busy connections only: see {@link #queueWaitMeanNanos()}).
     */
    QUEUE_ITEMS_WRITTEN,
    /** Items the sampled control-queue waits stand for (one sample per 16 items or more). */
    QUEUE_WAIT_SAMPLED_ITEMS,
    /** Sampled control-queue waits, each times the items it stands for. */
    QUEUE_WAIT_NANOS,
    /** The longest sampled wait in a control queue (largest over the connections). */
    QUEUE_WAIT_NANOS_MAX,
    /** Time the control queues were watched (summed over the connections). */
    QUEUE_OBSERVED_NANOS,
    /**
     * The control queues' depth integrated over {@link #QUEUE_OBSERVED_NANOS} (item-nanos),
     * estimated by Little's law: items written x their mean wait.
     */
    QUEUE_DEPTH_NANOS,
    /**
     * Streams that ended on busy connections and were summarised (the per-stream figures below
     * and the {@code STREAM_*} histograms); a connection's streams before it is busy are not.
     */
    ENDED_STREAMS,
    /** Of those, streams that had bytes queued and no send window at some point. */
    ENDED_STREAMS_BLOCKED_ON_WINDOW,
    /** Time those streams had bytes queued and no send window, summed over the streams. */
    ENDED_STREAM_WINDOW_BLOCKED_NANOS,
    /** The longest time one ended stream was blocked on its send window (since start). */
    ENDED_STREAM_WINDOW_BLOCKED_NANOS_MAX,
    /** The longest time one ended stream had DATA queued in the writer (since start). */
    ENDED_STREAM_QUEUED_NANOS_MAX,
    /** The most DATA payload bytes one ended stream sent (since start). */
    ENDED_STREAM_BYTES_SENT_MAX,
    /** The most DATA payload bytes one ended stream received (since start). */
    ENDED_STREAM_BYTES_RECEIVED_MAX
  }

  /**
   * A distribution in {@link #HISTOGRAM_BUCKETS} log2 buckets ({@link #bucketOf}); the unit is in
   * the name. The per-read and per-write ones cover busy connections only (a connection's first
   * {@value ConnectionCounters#SYSCALLS_BEFORE_HISTOGRAMS} syscalls are not in them).
   */
  public enum Histogram {
    /** Bytes one {@code read} call returned. */
    BYTES_PER_READ,
    /** Bytes one {@code write} call took (writes the socket refused are not included). */
    BYTES_PER_WRITE,
    /** Frames parsed from the bytes of one {@code read} call. */
    FRAMES_PER_READ,
    /** From a readiness event to all its bytes read and their frames handed on. */
    READABLE_TO_DELIVERED_NANOS,
    /** Sampled executor tasks' wait between being handed to the executor and running. */
    EXECUTOR_QUEUE_WAIT_NANOS,
    /** Per ended stream: time it had bytes queued and no send window (the peer's stream window). */
    STREAM_WINDOW_BLOCKED_NANOS,
    /**
     * Per ended stream: time it had DATA queued in the writer, for any reason (a window, its
     * round-robin turn, the socket).
     */
    STREAM_QUEUED_NANOS,
    /** Per ended stream: DATA payload bytes it sent. */
    STREAM_BYTES_SENT,
    /** Per ended stream: DATA payload bytes it received. */
    STREAM_BYTES_RECEIVED
  }

  /**
   * Buckets per histogram: bucket 0 holds 0, bucket {@code i} holds {@code [2^(i-1), 2^i)}, the
   * last everything from {@code 2^38} (4.6 minutes in nanoseconds, 256 GiB in bytes) up.
   */
  public static final int HISTOGRAM_BUCKETS = 40;
  private static final Histogram[] HISTOGRAMS = Histogram.values();

  /** The bucket of {@code value} (negative values count as 0). */
  public static int bucketOf(long value) {
    if (value <= 0) {
      return 0;
    }
    return Math.min(HISTOGRAM_BUCKETS - 1, 64 - Long.numberOfLeadingZeros(value));
  }

  /** The largest value bucket {@code i} holds ({@code 2^i - 1}); the last bucket's lower bound. */
  static long bucketUpperBound(int i) {
    return i == HISTOGRAM_BUCKETS - 1 ? 1L << (i - 1) : (1L << i) - 1;
  }

  private static final Figure[] FIGURES = Figure.values();
  /** Figures that are states "now" or maxima: {@link #minus} keeps the later value. */
  private static boolean isGauge(Figure f) {
    return f == Figure.CONNECTIONS_OPEN || f == Figure.QUEUE_DEPTH
        || f == Figure.STREAMS_BLOCKED_ON_WINDOW || f == Figure.LOOP_THREADS
        || f == Figure.LOOP_CHANNELS_OWNED || isMax(f);
  }

  /** Figures that sum over connections as the largest, not the total. */
  static boolean isMax(Figure f) {
    return f == Figure.MAX_QUEUE_DEPTH || f == Figure.PING_RTT_NANOS_LAST
        || f == Figure.QUEUE_WAIT_NANOS_MAX
        || f == Figure.PEER_INITIAL_WINDOW_BYTES || f == Figure.OUR_WINDOW_BYTES
        || f == Figure.ENDED_STREAM_WINDOW_BLOCKED_NANOS_MAX
        || f == Figure.ENDED_STREAM_QUEUED_NANOS_MAX || f == Figure.ENDED_STREAM_BYTES_SENT_MAX
        || f == Figure.ENDED_STREAM_BYTES_RECEIVED_MAX;
  }

  private final long takenAtNanos;
  private final long[] figures;
  private final long[] framesIn;
  private final long[] framesOut;
  /** Inbound RST_STREAM, inbound GOAWAY, outbound RST_STREAM, outbound GOAWAY, by code slot. */
  private final long[] errorCodes;
  /** Every {@link Histogram}'s buckets, one after the other. */
  private final long[] histograms;

  private LeanConnectionStats(long takenAtNanos, long[] figures, long[] framesIn,
      long[] framesOut, long[] errorCodes, long[] histograms) {
    this.takenAtNanos = takenAtNanos;
    this.histograms = histograms;
    this.figures = figures;
    this.framesIn = framesIn;
    this.framesOut = framesOut;
    this.errorCodes = errorCodes;
  }

  /** When the snapshot was taken, on the {@link System#nanoTime} clock. */
  public long takenAtNanos() {
    return takenAtNanos;
  }

  public long get(Figure figure) {
    return figures[figure.ordinal()];
  }

  /** Frames read of {@code type} (0x0 to 0x9). */
  public long framesIn(int type) {
    return framesIn[type];
  }

  /** Frames written of {@code type} (0x0 to 0x9); a header block counts as one HEADERS. */
  public long framesOut(int type) {
    return framesOut[type];
  }

  public long rstStreamIn(long code) {
    return errorCodes[slot(code)];
  }

  public long goAwayIn(long code) {
    return errorCodes[ERROR_CODE_SLOTS + slot(code)];
  }

  public long rstStreamOut(long code) {
    return errorCodes[2 * ERROR_CODE_SLOTS + slot(code)];
  }

  public long goAwayOut(long code) {
    return errorCodes[3 * ERROR_CODE_SLOTS + slot(code)];
  }

  private static int slot(long code) {
    return code >= 0 && code < ERROR_CODE_SLOTS - 1 ? (int) code : ERROR_CODE_SLOTS - 1;
  }

  /** Values counted in bucket {@code bucket} of {@code h}. */
  public long histogramBucket(Histogram h, int bucket) {
    if (bucket < 0 || bucket >= HISTOGRAM_BUCKETS) {
      throw new IndexOutOfBoundsException("bucket " + bucket);
    }
    return histograms[h.ordinal() * HISTOGRAM_BUCKETS + bucket];
  }

  /** Values counted in {@code h}. */
  public long histogramCount(Histogram h) {
    long n = 0;
    for (int i = 0; i < HISTOGRAM_BUCKETS; i++) {
      n += histograms[h.ordinal() * HISTOGRAM_BUCKETS + i];
    }
    return n;
  }

  /**
   * An upper bound of {@code h}'s {@code quantile} (0 to 1): the largest value of the bucket that
   * holds it, so within a factor of 2 above the true value; 0 when {@code h} is empty.
   */
  public long percentile(Histogram h, double quantile) {
    long total = histogramCount(h);
    if (total == 0) {
      return 0;
    }
    long rank = Math.max(1, (long) Math.ceil(quantile * total));
    long seen = 0;
    for (int i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += histograms[h.ordinal() * HISTOGRAM_BUCKETS + i];
      if (seen >= rank) {
        return bucketUpperBound(i);
      }
    }
    return bucketUpperBound(HISTOGRAM_BUCKETS - 1);
  }

  /** Frames read per {@code read} call; 0 before any read. */
  public double framesPerRead() {
    long reads = get(Figure.READ_SYSCALLS);
    return reads == 0 ? 0 : (double) Arrays.stream(framesIn).sum() / reads;
  }

  /**
   * Mean time an item (a control frame or header block) waited in a writer's control queue, from
   * being queued to being encoded for the socket, in nanoseconds; 0 before any sample. Sampled on
   * busy connections only (a connection's first reads and writes are not in it).
   */
  public long queueWaitMeanNanos() {
    long items = get(Figure.QUEUE_WAIT_SAMPLED_ITEMS);
    return items == 0 ? 0 : get(Figure.QUEUE_WAIT_NANOS) / items;
  }

  /**
   * Time-weighted average depth of a writer's control queue over the time it was watched (per
   * connection), by Little's law from {@link #queueWaitMeanNanos()}; 0 before any sample.
   */
  public double averageQueueDepth() {
    long observed = get(Figure.QUEUE_OBSERVED_NANOS);
    return observed <= 0 ? 0 : (double) get(Figure.QUEUE_DEPTH_NANOS) / observed;
  }

  /** Mean PING round trip in nanoseconds; 0 before any ack. */
  public long meanPingRttNanos() {
    long acks = get(Figure.PING_ACKS_RECEIVED);
    return acks == 0 ? 0 : get(Figure.PING_RTT_NANOS_TOTAL) / acks;
  }

  /**
   * What happened between {@code earlier} and this snapshot: counters subtract; figures that are
   * states "now" or maxima keep this snapshot's value.
   */
  public LeanConnectionStats minus(LeanConnectionStats earlier) {
    long[] f = figures.clone();
    for (Figure fig : FIGURES) {
      if (!isGauge(fig)) {
        f[fig.ordinal()] -= earlier.figures[fig.ordinal()];
      }
    }
    return new LeanConnectionStats(takenAtNanos, f, subtract(framesIn, earlier.framesIn),
        subtract(framesOut, earlier.framesOut), subtract(errorCodes, earlier.errorCodes),
        subtract(histograms, earlier.histograms));
  }

  private static long[] subtract(long[] a, long[] b) {
    long[] r = a.clone();
    for (int i = 0; i < r.length; i++) {
      r[i] -= b[i];
    }
    return r;
  }

  /** Keys of {@link #toArrays} besides the figures' and histograms' names. */
  static final String TAKEN_AT_NANOS = "TAKEN_AT_NANOS";
  static final String FRAMES_IN = "FRAMES_IN";
  static final String FRAMES_OUT = "FRAMES_OUT";
  /** Histograms' keys: this prefix and the name (a figure may have the same name). */
  static final String HISTOGRAM_PREFIX = "HISTOGRAM_";

  /**
   * This snapshot by name, as {@link LeanStatsMXBean#getSnapshot()} shows it: figures as
   * one-element arrays, histograms as their buckets (under {@code HISTOGRAM_<name>}), frames by
   * type, and when it was taken.
   */
  public Map<String, long[]> toArrays() {
    Map<String, long[]> m = new java.util.LinkedHashMap<>();
    m.put(TAKEN_AT_NANOS, new long[] {takenAtNanos});
    for (Figure fig : FIGURES) {
      m.put(fig.name(), new long[] {figures[fig.ordinal()]});
    }
    for (Histogram h : HISTOGRAMS) {
      m.put(HISTOGRAM_PREFIX + h.name(), Arrays.copyOfRange(histograms, h.ordinal() * HISTOGRAM_BUCKETS,
          (h.ordinal() + 1) * HISTOGRAM_BUCKETS));
    }
    m.put(FRAMES_IN, framesIn.clone());
    m.put(FRAMES_OUT, framesOut.clone());
    return m;
  }

  /**
   * The snapshot {@link #toArrays} described (read over JMX, say). Names this version does not
   * know are skipped and missing ones count as 0, so a doctor and a JVM of different versions
   * still agree on what both know.
   *
   * @throws IllegalArgumentException without {@code TAKEN_AT_NANOS}
   */
  public static LeanConnectionStats fromArrays(Map<String, long[]> m) {
    long[] taken = m.get(TAKEN_AT_NANOS);
    if (taken == null || taken.length != 1) {
      throw new IllegalArgumentException("no " + TAKEN_AT_NANOS + " in the snapshot");
    }
    Builder b = builder(taken[0]);
    for (Figure fig : FIGURES) {
      long[] v = m.get(fig.name());
      if (v != null && v.length == 1) {
        b.figures[fig.ordinal()] = v[0];
      }
    }
    for (Histogram h : HISTOGRAMS) {
      long[] v = m.get(HISTOGRAM_PREFIX + h.name());
      if (v != null) {
        b.addHistogram(h, Arrays.copyOf(v, HISTOGRAM_BUCKETS), 0);
      }
    }
    long[] in = m.get(FRAMES_IN);
    long[] out = m.get(FRAMES_OUT);
    b.addFrames(in == null ? new long[FRAME_TYPES] : Arrays.copyOf(in, FRAME_TYPES),
        out == null ? new long[FRAME_TYPES] : Arrays.copyOf(out, FRAME_TYPES));
    return b.build();
  }

  /** The figures by name, for printing and JSON. */
  public Map<Figure, Long> asMap() {
    Map<Figure, Long> m = new EnumMap<>(Figure.class);
    for (Figure fig : FIGURES) {
      m.put(fig, figures[fig.ordinal()]);
    }
    return m;
  }

  @Override
  public String toString() {
    return "LeanConnectionStats" + asMap() + " framesIn=" + Arrays.toString(framesIn)
        + " framesOut=" + Arrays.toString(framesOut);
  }

  /** Starts a sum taken at {@code takenAtNanos}; for snapshots and for tests' samples. */
  public static Builder builder(long takenAtNanos) {
    return new Builder(takenAtNanos);
  }

  /** Sums figures into a snapshot. Thread-compatible. */
  public static final class Builder {
    private final long takenAtNanos;
    private final long[] figures = new long[FIGURES.length];
    private final long[] framesIn = new long[FRAME_TYPES];
    private final long[] framesOut = new long[FRAME_TYPES];
    private final long[] errorCodes = new long[4 * ERROR_CODE_SLOTS];
    private final long[] histograms = new long[HISTOGRAMS.length * HISTOGRAM_BUCKETS];

    private Builder(long takenAtNanos) {
      this.takenAtNanos = takenAtNanos;
    }

    public Builder add(Figure figure, long value) {
      figures[figure.ordinal()] += value;
      return this;
    }

    /** Keeps the larger of the current value and {@code value}. */
    public Builder max(Figure figure, long value) {
      figures[figure.ordinal()] = Math.max(figures[figure.ordinal()], value);
      return this;
    }

    /** Adds {@code count} frames read of {@code type} (0x0 to 0x9). */
    public Builder addFramesIn(int type, long count) {
      framesIn[type] += count;
      return this;
    }

    Builder addFrames(long[] in, long[] out) {
      for (int i = 0; i < FRAME_TYPES; i++) {
        framesIn[i] += in[i];
        framesOut[i] += out[i];
      }
      return this;
    }

    /** Adds one value to {@code h} (for tests' samples and the process-wide sources). */
    public Builder record(Histogram h, long value) {
      histograms[h.ordinal() * HISTOGRAM_BUCKETS + bucketOf(value)]++;
      return this;
    }

    /** Adds {@code h}'s buckets from {@code counts[from .. from + HISTOGRAM_BUCKETS)}. */
    Builder addHistogram(Histogram h, long[] counts, int from) {
      int base = h.ordinal() * HISTOGRAM_BUCKETS;
      for (int i = 0; i < HISTOGRAM_BUCKETS; i++) {
        histograms[base + i] += counts[from + i];
      }
      return this;
    }

    Builder addErrorCodes(long[] codes) {
      for (int i = 0; i < codes.length; i++) {
        errorCodes[i] += codes[i];
      }
      return this;
    }

    /** Adds everything in {@code other} (a closed connection's final figures, say). */
    Builder addAll(LeanConnectionStats other) {
      for (Figure fig : FIGURES) {
        if (isMax(fig)) {
          max(fig, other.get(fig));
        } else {
          add(fig, other.get(fig));
        }
      }
      addFrames(other.framesIn, other.framesOut);
      for (int i = 0; i < histograms.length; i++) {
        histograms[i] += other.histograms[i];
      }
      return addErrorCodes(other.errorCodes);
    }

    public LeanConnectionStats build() {
      return new LeanConnectionStats(takenAtNanos, figures.clone(), framesIn.clone(),
          framesOut.clone(), errorCodes.clone(), histograms.clone());
    }
  }
}
