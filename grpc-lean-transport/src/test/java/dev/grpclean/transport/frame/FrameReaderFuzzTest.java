package dev.grpclean.transport.frame;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.grpclean.transport.pool.Pools;
import dev.grpclean.transport.testing.FuzzInput;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes the inbound frame path as a connection wires it: {@link FrameReader} (with its
 * {@code FrameChecks}, {@code FrameDispatcher} and {@code HeaderBlockAssembler}) and every complete
 * header block through a {@link HeaderBlockDecoder}, fed in socket-read-sized pieces.
 *
 * <p>Input layout ({@link FuzzInput}; the options in {@link Options}): byte 0 picks the side and
 * the limits, byte 1 the number of split points (0 to 15), then two bytes per split point
 * (big-endian, taken modulo the stream length), then the bytes the peer sends. On the server side
 * the 24-byte client preface is put in front unless option bit 1 asks the input to bring its own.
 *
 * <p>What must hold for every input:
 * <ul>
 *   <li>{@code read} throws nothing but {@link Http2ConnectionError} (stream errors arrive at
 *       {@code onStreamError}); afterwards the reader is dead with the same code and holds nothing;
 *   <li>each call consumes its whole buffer, and the buffer is only borrowed: the pieces are
 *       leased from the I/O pool, poisoned after the call and returned, so a reader that kept a
 *       view would show it in the transcript; no lease is left outstanding;
 *   <li>the split does not matter: the pieces give the same callbacks (decoded headers included)
 *       and the same error code as the whole stream in one buffer;
 *   <li>memory between reads: at most a 9-byte header stash, or a payload stash of at most twice
 *       the payload bytes received (16 minimum, never past the payload length), plus a header
 *       block under its cap; so never more than twice the max frame size plus the cap. Nothing at
 *       all at a frame boundary with no header block open;
 *   <li>callbacks carry sane values: non-zero stream ids where RFC 9113 requires them, DATA within
 *       the frame size, header blocks within the cap, window increments and weights in range.
 * </ul>
 *
 * <p>{@code scripts/fuzz frames} runs it in fuzzing mode; plain {@code mvn verify} runs it over
 * {@code FrameReaderFuzzTestInputs/readFrames}. The class timeout is also Jazzer's per-input
 * timeout when fuzzing.
 *
 * <p>Each invocation builds its own readers; nothing is shared between inputs.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FrameReaderFuzzTest {
  private static final int MAX_FRAME_BYTES = FrameType.DEFAULT_MAX_FRAME_SIZE;
  /** Header block caps the input chooses from: tiny ones, and the server's default. */
  private static final int[] HEADER_BLOCK_CAPS = {1, 24, 256, 4096, 4 * 8192 + 1024};
  /** Header list limits (SETTINGS_MAX_HEADER_LIST_SIZE): tiny, and gRPC's 8 KiB default. */
  private static final int[] HEADER_LIST_LIMITS = {64, 8192};
  private static final byte POISON = (byte) 0xA5;

  /** Option bits of input byte 0. */
  private static final class Options {
    final boolean client;
    final boolean prefaceFromInput;
    final int headerBlockCap;
    final int headerListLimit;

    Options(int bits) {
      client = (bits & 1) != 0;
      prefaceFromInput = !client && (bits & 2) != 0;
      headerBlockCap = HEADER_BLOCK_CAPS[((bits >> 2) & 7) % HEADER_BLOCK_CAPS.length];
      headerListLimit = HEADER_LIST_LIMITS[(bits >> 5) & 1];
    }

    /** Bytes at the start of the stream that are the client preface, not frames. */
    int prefaceBytes() {
      return client ? 0 : FrameType.CONNECTION_PREFACE.length;
    }
  }

  @FuzzTest(maxDuration = "20s")
  void readFrames(byte[] input) throws Exception {
    FuzzInput fuzzInput = FuzzInput.of(input);
    Options options = new Options(fuzzInput.options());
    byte[] stream = stream(options, fuzzInput.payload());
    int[] cuts = fuzzInput.cuts(stream.length);

    long ioLeasesBefore = Pools.io().leasesOutstanding();
    Run whole = new Run(options);
    whole.feed(ByteBuffer.wrap(stream), stream, stream.length);
    Run pieces = new Run(options);
    int from = 0;
    for (int cut : cuts) {
      if (pieces.failure != null) {
        break;
      }
      pieces.feedLeased(stream, from, cut);
      from = cut;
    }
    if (pieces.failure == null) {
      pieces.feedLeased(stream, from, stream.length);
    }

    assertEquals(whole.transcript, pieces.transcript, "callbacks depend on how reads split");
    assertEquals(whole.failureCode(), pieces.failureCode(), "error depends on how reads split");
    whole.finish();
    pieces.finish();
    assertEquals(ioLeasesBefore, Pools.io().leasesOutstanding(), "I/O lease left outstanding");
  }

  /** The bytes the peer sends: the preface (server side, unless the input brings it), frames. */
  private static byte[] stream(Options options, byte[] frames) {
    if (options.client || options.prefaceFromInput) {
      return frames;
    }
    byte[] preface = FrameType.CONNECTION_PREFACE;
    byte[] all = Arrays.copyOf(preface, preface.length + frames.length);
    System.arraycopy(frames, 0, all, preface.length, frames.length);
    return all;
  }

  /** One reader fed one way, with what it reported. Confined to the fuzzing thread. */
  private static final class Run {
    final Options options;
    final Transcript listener;
    final FrameReader reader;
    final List<String> transcript;
    Http2ConnectionError failure;

    Run(Options options) {
      this.options = options;
      this.listener = new Transcript(options);
      this.transcript = listener.events;
      this.reader = new FrameReader(listener, !options.client, MAX_FRAME_BYTES,
          options.headerBlockCap);
    }

    /** Copies {@code stream[from, to)} into a leased direct buffer, reads it, poisons, returns. */
    void feedLeased(byte[] stream, int from, int to) throws Http2ConnectionError {
      ByteBuffer lease = Pools.io().lease(Math.max(1, to - from));
      try {
        lease.put(stream, from, to - from).flip();
        feed(lease, stream, to);
      } finally {
        lease.clear();
        while (lease.hasRemaining()) {
          lease.put(POISON);
        }
        Pools.io().release(lease);
      }
    }

    /** Reads {@code in}, whose last byte is {@code stream[fedTo - 1]}, and checks the reader. */
    void feed(ByteBuffer in, byte[] stream, int fedTo) {
      try {
        reader.read(in);
      } catch (Http2ConnectionError e) {
        failure = e;
        transcript.add("CONNECTION_ERROR " + e.code());
        return;
      }
      assertFalse(in.hasRemaining(), "read left bytes unconsumed");
      checkHeld(Framing.walk(stream, options.prefaceBytes(), fedTo));
    }

    private void checkHeld(Framing f) {
      int held = reader.pendingBytes();
      int cap = options.headerBlockCap;
      if (f.atBoundary() && !f.blockOpen) {
        assertEquals(0, held, "held bytes at a frame boundary with no header block open");
        return;
      }
      long stash;
      if (f.headerBytes < FrameType.FRAME_HEADER_BYTES) {
        stash = f.headerBytes == 0 ? 0 : FrameType.FRAME_HEADER_BYTES;
      } else if (f.type > FrameType.CONTINUATION) {
        stash = 0; // an unknown type is skipped unbuffered
      } else {
        stash = Math.min(f.length, Math.max(16, 2L * f.payloadBytes));
      }
      long bound = stash + (f.blockOpen ? cap : 0);
      if (held > bound || held > 2L * MAX_FRAME_BYTES + cap) {
        throw new AssertionError("reader holds " + held + " bytes; allowed " + bound + " ("
            + f + ", header block cap " + cap + ")");
      }
    }

    String failureCode() {
      return failure == null ? "none" : failure.code().toString();
    }

    /** A dead reader stays dead with the same code; released, it holds nothing. */
    void finish() {
      if (failure != null) {
        assertEquals(0, reader.pendingBytes(), "a failed reader still holds bytes");
        Http2ConnectionError again = assertThrows(Http2ConnectionError.class,
            () -> reader.read(ByteBuffer.wrap(new byte[] {0})));
        assertEquals(failure.code(), again.code(), "a failed reader changed its error code");
      }
      reader.release();
      assertEquals(0, reader.pendingBytes(), "a released reader still holds bytes");
    }
  }

  /**
   * Where the stream stands after {@code fedTo} bytes, walked with nothing but the 9-byte frame
   * headers (RFC 9113 §4.1): the partial frame's progress and whether a header block is open
   * (HEADERS without END_HEADERS until a CONTINUATION with it, §6.10). Valid only while the reader
   * has accepted every frame so far, since then it frames the stream the same way.
   */
  private static final class Framing {
    /** Bytes of the partial frame's header seen; 0 at a boundary. */
    int headerBytes;
    int length;
    int type;
    /** Payload bytes of the partial frame seen. */
    int payloadBytes;
    boolean blockOpen;

    static Framing walk(byte[] stream, int prefaceBytes, int fedTo) {
      Framing f = new Framing();
      int at = Math.min(prefaceBytes, fedTo);
      while (at < fedTo) {
        if (fedTo - at < FrameType.FRAME_HEADER_BYTES) {
          f.headerBytes = fedTo - at;
          return f;
        }
        int length = (stream[at] & 0xff) << 16 | (stream[at + 1] & 0xff) << 8
            | (stream[at + 2] & 0xff);
        int type = stream[at + 3] & 0xff;
        int flags = stream[at + 4] & 0xff;
        at += FrameType.FRAME_HEADER_BYTES;
        if (fedTo - at < length) {
          f.headerBytes = FrameType.FRAME_HEADER_BYTES;
          f.length = length;
          f.type = type;
          f.payloadBytes = fedTo - at;
          return f;
        }
        at += length;
        if (type == FrameType.HEADERS || type == FrameType.CONTINUATION) {
          f.blockOpen = (flags & FrameType.END_HEADERS) == 0;
        }
      }
      return f;
    }

    boolean atBoundary() {
      return headerBytes == 0;
    }

    @Override
    public String toString() {
      return atBoundary() ? "at a frame boundary" : "partial frame: " + headerBytes
          + " header bytes, type " + type + ", length " + length + ", " + payloadBytes
          + " payload bytes" + (blockOpen ? ", header block open" : "");
    }
  }

  /**
   * Checks and records every callback as text, decoding header blocks as the connection does:
   * a stream error from the decoder goes back to the dispatcher, a connection error ends the read.
   * Borrowed buffers are copied into the text, never kept.
   */
  private static final class Transcript implements FrameListener {
    final List<String> events = new ArrayList<>();
    private final Options options;
    private final HeaderBlockDecoder decoder;

    Transcript(Options options) {
      this.options = options;
      this.decoder = new HeaderBlockDecoder(options.headerListLimit, 4096);
    }

    @Override
    public void onData(int streamId, ByteBuffer data, int flowControlledBytes, boolean endStream) {
      check(streamId > 0, "DATA on stream 0");
      check(data.remaining() <= flowControlledBytes && flowControlledBytes <= MAX_FRAME_BYTES,
          "DATA sizes");
      events.add("DATA " + streamId + " " + Hex.of(data) + " fc=" + flowControlledBytes
          + (endStream ? " END_STREAM" : ""));
    }

    @Override
    public void onHeaders(int streamId, ByteBuffer headerBlock, boolean endStream)
        throws Http2ConnectionError, Http2StreamError {
      check(streamId > 0, "HEADERS on stream 0");
      check(headerBlock.remaining() <= options.headerBlockCap, "header block over its cap");
      int position = headerBlock.position();
      Http2Headers headers = decoder.decode(streamId, headerBlock);
      check(headerBlock.position() == position, "decode moved the block");
      StringBuilder text = new StringBuilder("HEADERS ").append(streamId);
      for (Map.Entry<CharSequence, CharSequence> e : headers) {
        text.append(' ').append(e.getKey()).append('=').append(e.getValue());
      }
      events.add(text.append(endStream ? " END_STREAM" : "").toString());
    }

    @Override
    public void onPriority(int streamId, int dependencyStreamId, int weight, boolean exclusive) {
      check(streamId > 0 && dependencyStreamId != streamId && weight >= 1 && weight <= 256,
          "PRIORITY fields");
      events.add("PRIORITY " + streamId + " " + dependencyStreamId + " " + weight + " "
          + exclusive);
    }

    @Override
    public void onRstStream(int streamId, long errorCode) {
      check(streamId > 0, "RST_STREAM on stream 0");
      events.add("RST_STREAM " + streamId + " " + errorCode);
    }

    @Override
    public void onSettings(Settings settings) {
      events.add("SETTINGS " + settings);
    }

    @Override
    public void onSettingsAck() {
      decoder.onLocalSettingsAcked();
      events.add("SETTINGS_ACK");
    }

    @Override
    public void onPing(long payload, boolean ack) {
      events.add("PING " + payload + " " + ack);
    }

    @Override
    public void onGoAway(int lastStreamId, long errorCode, ByteBuffer debugData) {
      check(lastStreamId >= 0, "GOAWAY last stream id");
      events.add("GOAWAY " + lastStreamId + " " + errorCode + " " + Hex.of(debugData));
    }

    @Override
    public void onWindowUpdate(int streamId, int increment) {
      check(increment >= 1, "WINDOW_UPDATE increment");
      events.add("WINDOW_UPDATE " + streamId + " " + increment);
    }

    @Override
    public void onStreamError(Http2StreamError error) {
      check(error.streamId() > 0, "stream error on stream 0");
      events.add("STREAM_ERROR " + error.streamId() + " " + error.code());
    }

    private static void check(boolean condition, String what) {
      if (!condition) {
        throw new AssertionError("bad callback: " + what);
      }
    }
  }
}
