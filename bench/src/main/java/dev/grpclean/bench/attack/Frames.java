package dev.grpclean.bench.attack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FrameTypes;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Settings;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Crafts the attacker's HTTP/2 frames with Netty's own codec: a {@link DefaultHttp2FrameWriter}
 * writes into an {@link EmbeddedChannel}, and each frame's bytes are appended to the batch being
 * built, with the offset where it ends, so a partly written batch still says how many whole
 * frames left. {@link #take()} hands the batch over and starts the next.
 *
 * <p>One instance per connection: its HPACK encoder's dynamic table follows every header block
 * this connection crafted, so batches must go out in the order they were taken. Blocks from
 * {@link #literalBlock} use a second encoder that never indexes (literal never-indexed fields)
 * and leave the dynamic table alone.
 *
 * <p>Confined to the attacking thread (an EmbeddedChannel runs on its caller's thread).
 */
final class Frames implements AutoCloseable {
  private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
  private final ChannelHandlerContext ctx = channel.pipeline().firstContext();
  /** Indexes everything it can (incremental indexing), ignoring any header list limit. */
  private final DefaultHttp2HeadersEncoder hpack =
      new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.NEVER_SENSITIVE, true);
  /** Literal never-indexed fields only: its dynamic table stays empty. */
  private final DefaultHttp2HeadersEncoder literals =
      new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.ALWAYS_SENSITIVE, true);
  private final DefaultHttp2FrameWriter writer = new DefaultHttp2FrameWriter(hpack);

  private ByteBuf batch = Unpooled.buffer();
  private int[] ends = new int[16];
  private int frameCount;

  /**
   * Frames crafted and handed over, with the offset after each. The connection writes it by
   * advancing the buffer's reader index, so {@link #framesWritten()} counts the whole frames
   * gone so far. A header block from {@link Frames#headers} counts once however many frames
   * it took; {@link Frames#headerBlockFrames} counts each of its frames.
   */
  static final class Batch {
    final ByteBuf bytes;
    private final int[] ends;

    Batch(ByteBuf bytes, int[] ends) {
      this.bytes = bytes;
      this.ends = ends;
    }

    int frames() {
      return ends.length;
    }

    /** Whole frames among the first {@code written} bytes. */
    int framesWithin(long written) {
      int i = Arrays.binarySearch(ends, (int) Math.min(written, Integer.MAX_VALUE));
      return i >= 0 ? i + 1 : -i - 1;
    }

    /** Whole frames written so far (the bytes before the reader index). */
    int framesWritten() {
      return framesWithin(bytes.readerIndex());
    }

    /** {@code times} copies of this unwritten batch back to back. */
    Batch repeat(int times) {
      int n = bytes.writerIndex();
      ByteBuf out = Unpooled.buffer(n * times);
      int[] outEnds = new int[ends.length * times];
      for (int t = 0; t < times; t++) {
        out.writeBytes(bytes, 0, n);
        for (int i = 0; i < ends.length; i++) {
          outEnds[t * ends.length + i] = t * n + ends[i];
        }
      }
      return new Batch(out, outEnds);
    }
  }

  // ---------------------------------------------------------------- frames

  /** The client connection preface (RFC 9113 §3.4), not a frame: it adds no frame end. */
  Frames preface() {
    ByteBuf p = Http2CodecUtil.connectionPrefaceBuf();
    try {
      batch.writeBytes(p);
    } finally {
      p.release();
    }
    return this;
  }

  Frames settings(Http2Settings settings) {
    return add(writer.writeSettings(ctx, settings, ctx.newPromise()));
  }

  Frames settingsAck() {
    return add(writer.writeSettingsAck(ctx, ctx.newPromise()));
  }

  Frames ping(boolean ack, long payload) {
    return add(writer.writePing(ctx, ack, payload, ctx.newPromise()));
  }

  /** HEADERS (plus CONTINUATION past the frame size) with END_HEADERS, from the HPACK encoder. */
  Frames headers(int streamId, Http2Headers headers, boolean endStream) {
    return add(writer.writeHeaders(ctx, streamId, headers, 0, endStream, ctx.newPromise()));
  }

  /** One DATA frame carrying a copy of {@code payload}. */
  Frames data(int streamId, byte[] payload, boolean endStream) {
    return add(writer.writeData(ctx, streamId, Unpooled.wrappedBuffer(payload), 0, endStream,
        ctx.newPromise()));
  }

  Frames rstStream(int streamId, Http2Error error) {
    return add(writer.writeRstStream(ctx, streamId, error.code(), ctx.newPromise()));
  }

  Frames windowUpdate(int streamId, int increment) {
    return add(writer.writeWindowUpdate(ctx, streamId, increment, ctx.newPromise()));
  }

  /**
   * A HEADERS frame carrying {@code fragment} of a header block without END_HEADERS: the block
   * goes on in CONTINUATION frames.
   */
  Frames headersFragment(int streamId, byte[] fragment, boolean endStream) {
    return raw(Http2FrameTypes.HEADERS, streamId, new Http2Flags().endOfStream(endStream),
        fragment);
  }

  Frames continuation(int streamId, byte[] fragment, boolean endHeaders) {
    return raw(Http2FrameTypes.CONTINUATION, streamId, new Http2Flags().endOfHeaders(endHeaders),
        fragment);
  }

  /**
   * A header block encoded earlier ({@link #headerBlock}) as HEADERS plus CONTINUATION frames of
   * at most the server's frame size, END_HEADERS on the last: the same bytes can be sent on many
   * streams while the encoder's table does not change.
   */
  Frames headerBlockFrames(int streamId, byte[] block, boolean endStream) {
    int max = writer.maxFrameSize();
    int offset = 0;
    boolean first = true;
    do {
      int n = Math.min(max, block.length - offset);
      boolean last = offset + n == block.length;
      byte[] fragment = Arrays.copyOfRange(block, offset, offset + n);
      Http2Flags flags = new Http2Flags().endOfHeaders(last);
      if (first) {
        raw(Http2FrameTypes.HEADERS, streamId, flags.endOfStream(endStream), fragment);
      } else {
        raw(Http2FrameTypes.CONTINUATION, streamId, flags, fragment);
      }
      first = false;
      offset += n;
    } while (offset < block.length);
    return this;
  }

  /** A header block from the indexing encoder: its dynamic table changes as the server's will. */
  byte[] headerBlock(int streamId, Http2Headers headers) {
    return encode(hpack, streamId, headers);
  }

  /** A header block of literal never-indexed fields: no HPACK table changes on either side. */
  byte[] literalBlock(Http2Headers headers) {
    return encode(literals, 0, headers);
  }

  /**
   * Applies the server's SETTINGS to what we craft: the dynamic table may not outgrow its
   * HEADER_TABLE_SIZE, frames its MAX_FRAME_SIZE.
   */
  void applyServerSettings(Http2Settings settings) throws Http2Exception {
    if (settings.headerTableSize() != null) {
      hpack.maxHeaderTableSize(settings.headerTableSize());
    }
    if (settings.maxFrameSize() != null) {
      writer.maxFrameSize(settings.maxFrameSize());
    }
  }

  /** The dynamic table size the encoder may use (the server's HEADER_TABLE_SIZE). */
  long headerTableSize() {
    return hpack.maxHeaderTableSize();
  }

  // ---------------------------------------------------------------- batches

  /** The context frames are crafted in; the frame reader of the same connection uses it too. */
  ChannelHandlerContext context() {
    return ctx;
  }

  /** Frames crafted since the last take. */
  int pendingFrames() {
    return frameCount;
  }

  /** Hands over the frames crafted since the last take (the preface counts as no frame). */
  Batch take() {
    Batch b = new Batch(batch, Arrays.copyOf(ends, frameCount));
    batch = Unpooled.buffer();
    frameCount = 0;
    return b;
  }

  /** Releases the open batch and the channel. Idempotent. */
  @Override
  public void close() {
    if (channel.isOpen()) {
      batch.release();
      channel.finishAndReleaseAll();
    }
  }

  private Frames raw(byte type, int streamId, Http2Flags flags, byte[] payload) {
    return add(writer.writeFrame(ctx, type, streamId, flags, Unpooled.wrappedBuffer(payload),
        ctx.newPromise()));
  }

  private static byte[] encode(DefaultHttp2HeadersEncoder encoder, int streamId,
      Http2Headers headers) {
    ByteBuf out = Unpooled.buffer();
    try {
      encoder.encodeHeaders(streamId, headers, out);
      byte[] block = new byte[out.readableBytes()];
      out.readBytes(block);
      return block;
    } catch (Http2Exception e) {
      throw new IllegalArgumentException("cannot encode " + headers + ": " + e.getMessage(), e);
    } finally {
      out.release();
    }
  }

  /**
   * Moves what the writer just wrote into the batch and records where the frame ends. A frame
   * the writer refused (a bad stream id, an oversized payload) is a bug in the attack.
   */
  private Frames add(ChannelFuture written) {
    channel.flushOutbound();
    if (written.cause() != null) {
      throw new IllegalArgumentException("cannot craft the frame: " + written.cause().getMessage(),
          written.cause());
    }
    for (Object o; (o = channel.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      try {
        batch.writeBytes(b);
      } finally {
        b.release();
      }
    }
    if (frameCount == ends.length) {
      ends = Arrays.copyOf(ends, ends.length * 2);
    }
    ends[frameCount++] = batch.writerIndex();
    return this;
  }

  /** The request headers a gRPC client sends for {@code fullMethod} ("service/method"). */
  static Http2Headers grpcRequest(String fullMethod) {
    return new DefaultHttp2Headers()
        .method("POST")
        .scheme("http")
        .path("/" + fullMethod)
        .authority("localhost")
        .add("content-type", "application/grpc")
        .add("te", "trailers");
  }

  /** One uncompressed gRPC message: flag 0, 4-byte big-endian length, the bytes. */
  static byte[] grpcMessage(byte[] message) {
    return ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length)
        .put(message).array();
  }
}
