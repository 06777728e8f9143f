package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.HeaderBlockDecoder;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;
import dev.grpclean.transport.frame.Settings;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Predicate;

/**
 * A frame-level fake HTTP/2 client: a blocking socket that sends exactly the bytes a test builds
 * (well-formed frames from {@link RawFrames}, or garbage) and parses what the server sends back.
 * Every wait is bounded by a socket read timeout; nothing sleeps.
 *
 * <p>HEADERS blocks are encoded with this connection's own HPACK encoder ({@link #headers}), and
 * received HEADERS (+ CONTINUATION) are decoded in wire order, so a test can send several requests
 * on one connection and read real response headers.
 *
 * <p>Thread-compatible: one test thread drives it.
 */
final class RawHttp2Client implements Closeable {
  /** Bound on a wait for an expected frame; generous because CI machines are slow. */
  static final Duration DEFAULT_WAIT = Duration.ofSeconds(10);

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final HeaderBlockEncoder encoder = new HeaderBlockEncoder();
  /** 1 MiB header list: large enough for any response this suite provokes. */
  private final HeaderBlockDecoder decoder = new HeaderBlockDecoder(1 << 20, 4096);
  private final List<Frame> received = new ArrayList<>();
  private boolean closedByPeer;

  private RawHttp2Client(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
    this.out = socket.getOutputStream();
  }

  /** Connects to a server on the loopback interface. */
  static RawHttp2Client connect(int port) throws IOException {
    return connect(port, 0);
  }

  /**
   * Connects with a receive buffer of {@code receiveBufferBytes} (0: the system default). Set
   * before connecting, so the TCP window is negotiated from it: a small one lets a test fill the
   * server's socket by simply not reading.
   */
  static RawHttp2Client connect(int port, int receiveBufferBytes) throws IOException {
    Socket s = new Socket();
    if (receiveBufferBytes > 0) {
      s.setReceiveBufferSize(receiveBufferBytes);
    }
    s.setTcpNoDelay(true); // so sendByteByByte really sends one byte per segment
    s.connect(new InetSocketAddress("127.0.0.1", port), (int) DEFAULT_WAIT.toMillis());
    return new RawHttp2Client(s);
  }

  /**
   * Wraps a connection a test accepted on its own listening socket: the raw peer then plays the
   * server (after {@link #readClientPreface}, frames flow the same way in both roles).
   */
  static RawHttp2Client accepted(Socket s) throws IOException {
    s.setTcpNoDelay(true);
    return new RawHttp2Client(s);
  }

  /**
   * Server role, for a lean client's call on stream 1: accepts the connection on
   * {@code listener}, completes the HTTP/2 handshake, waits for the request's HEADERS and answers
   * with response headers and one 100-byte message, leaving the response open.
   */
  static RawHttp2Client acceptAndStartResponse(ServerSocket listener) throws IOException {
    RawHttp2Client server = accepted(listener.accept());
    server.readClientPreface();
    server.send(RawFrames.settings());
    server.awaitFrame(f -> f.type == FrameType.SETTINGS && !f.ack(), DEFAULT_WAIT);
    server.send(RawFrames.settingsAck());
    server.awaitFrame(f -> f.type == FrameType.HEADERS && f.streamId == 1, DEFAULT_WAIT);
    server.send(server.headers(1, GrpcHeaders.serverResponse(new Metadata()), false),
        RawFrames.data(1, RawFrames.grpcMessage(new byte[100]), false));
    return server;
  }

  /** Server role: reads the 24-byte client connection preface (RFC 9113 §3.4). */
  void readClientPreface() throws IOException {
    byte[] preface = new byte[FrameType.CONNECTION_PREFACE.length];
    if (!readFully(preface, System.nanoTime() + DEFAULT_WAIT.toNanos(), false)
        || !java.util.Arrays.equals(preface, FrameType.CONNECTION_PREFACE)) {
      throw new AssertionError("not an HTTP/2 client preface");
    }
  }

  // ---------------------------------------------------------------- sending

  /** Writes all chunks, concatenated, in one write and flushes. */
  RawHttp2Client send(byte[]... chunks) throws IOException {
    out.write(RawFrames.concat(chunks));
    out.flush();
    return this;
  }

  /** Writes the chunks one byte per write, flushing after each: every frame spans many reads. */
  RawHttp2Client sendByteByByte(byte[]... chunks) throws IOException {
    for (byte b : RawFrames.concat(chunks)) {
      out.write(b);
      out.flush();
    }
    return this;
  }

  /**
   * Sends the preface and an empty SETTINGS, acknowledges the server's SETTINGS and waits for the
   * ack of ours: afterwards the server has finished the HTTP/2 handshake.
   */
  RawHttp2Client handshake() throws IOException {
    return handshake(RawFrames.settings(), DEFAULT_WAIT);
  }

  /**
   * {@link #handshake} with SETTINGS_INITIAL_WINDOW_SIZE 0 in our SETTINGS: the server can send
   * no DATA at all until we open a window. Waits up to {@code wait} for each SETTINGS frame.
   */
  RawHttp2Client handshakeWithClosedWindows(Duration wait) throws IOException {
    return handshake(RawFrames.settings(Settings.INITIAL_WINDOW_SIZE, 0), wait);
  }

  /**
   * {@link #handshake} with every window opened to its maximum (RFC 9113 §6.9.1): flow control
   * never holds the server back, so what it sends is limited by our reading alone.
   */
  RawHttp2Client handshakeWithOpenWindows() throws IOException {
    handshake(RawFrames.settings(Settings.INITIAL_WINDOW_SIZE, Integer.MAX_VALUE), DEFAULT_WAIT);
    return send(RawFrames.windowUpdate(0, Integer.MAX_VALUE - FrameType.DEFAULT_INITIAL_WINDOW));
  }

  private RawHttp2Client handshake(byte[] ourSettings, Duration wait) throws IOException {
    send(RawFrames.preface(), ourSettings);
    awaitFrame(f -> f.type == FrameType.SETTINGS && !f.ack(), wait);
    send(RawFrames.settingsAck());
    awaitFrame(f -> f.type == FrameType.SETTINGS && f.ack(), wait);
    return this;
  }

  /** Sends a whole gRPC request for {@code method}: HEADERS, then one message ending the stream. */
  RawHttp2Client sendRequest(int streamId, MethodDescriptor<?, ?> method, byte[] message)
      throws IOException {
    return send(headers(streamId, RawFrames.grpcRequestHeaders(method.getFullMethodName()), false),
        RawFrames.data(streamId, RawFrames.grpcMessage(message), true));
  }

  /** HPACK-encodes {@code headers} with this connection's encoder (its state advances). */
  byte[] headerBlock(int streamId, Http2Headers headers) {
    ByteBuf buf = Unpooled.buffer();
    try {
      encoder.encode(streamId, headers, buf);
      return ByteBufUtil.getBytes(buf);
    } catch (Http2ConnectionError | Http2StreamError e) {
      throw new AssertionError("cannot encode test headers", e);
    } finally {
      buf.release();
    }
  }

  /** A HEADERS frame (plus CONTINUATION if needed) for {@code headers}, END_HEADERS set. */
  byte[] headers(int streamId, Http2Headers headers, boolean endStream) {
    return RawFrames.headerFrames(streamId, headerBlock(streamId, headers), endStream,
        RawFrames.MAX_FRAME_BYTES);
  }

  // ---------------------------------------------------------------- receiving

  /** Every frame received so far, in order (for assertion messages). */
  List<Frame> received() {
    return Collections.unmodifiableList(received);
  }

  /**
   * Returns the next frame, or null once the server has closed the connection (EOF or reset).
   *
   * @throws AssertionError if no whole frame arrives within {@code wait}
   */
  Frame readFrame(Duration wait) throws IOException {
    long deadline = System.nanoTime() + wait.toNanos();
    byte[] header = new byte[FrameType.FRAME_HEADER_BYTES];
    if (!readFully(header, deadline, true)) {
      return null;
    }
    ByteBuffer h = ByteBuffer.wrap(header);
    int length = (h.get() & 0xFF) << 16 | (h.get() & 0xFF) << 8 | (h.get() & 0xFF);
    int type = h.get() & 0xFF;
    int flags = h.get() & 0xFF;
    int streamId = h.getInt() & 0x7FFF_FFFF;
    byte[] payload = new byte[length];
    readFully(payload, deadline, false);
    Frame frame = type == FrameType.HEADERS
        ? readHeaderBlock(flags, streamId, payload, deadline)
        : new Frame(type, flags, streamId, payload, null);
    received.add(frame);
    return frame;
  }

  /**
   * Sends a PING and waits for its ack: the server has read what we sent before it (such as the
   * SETTINGS ack {@link #handshake} leaves in flight). Each one counts against the server's ping
   * policing (two are allowed without calls in flight).
   */
  void pingRoundTrip(long payload) throws IOException {
    send(RawFrames.ping(false, payload));
    awaitFrame(f -> f.type == FrameType.PING && f.ack()
        && ByteBuffer.wrap(f.payload).getLong() == payload, DEFAULT_WAIT);
  }

  /** Skips frames until one matches. Fails on timeout or if the server closes first. */
  Frame awaitFrame(Predicate<Frame> wanted, Duration wait) throws IOException {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      Frame f = readFrame(remaining(deadline, wait));
      if (f == null) {
        throw new AssertionError("connection closed before the expected frame; got " + received);
      }
      if (wanted.test(f)) {
        return f;
      }
    }
  }

  Frame awaitGoAway() throws IOException {
    return awaitFrame(f -> f.type == FrameType.GOAWAY, DEFAULT_WAIT);
  }

  /** The first RST_STREAM or HEADERS frame for {@code streamId}: how the server answered it. */
  Frame awaitStreamAnswer(int streamId) throws IOException {
    return awaitFrame(f -> f.streamId == streamId
        && (f.type == FrameType.RST_STREAM || f.type == FrameType.HEADERS), DEFAULT_WAIT);
  }

  /** Frames of {@code streamId} up to and including END_STREAM or RST_STREAM. */
  List<Frame> awaitStreamEnd(int streamId) throws IOException {
    List<Frame> frames = new ArrayList<>();
    while (true) {
      Frame f = awaitFrame(x -> x.streamId == streamId, DEFAULT_WAIT);
      frames.add(f);
      if (f.type == FrameType.RST_STREAM || f.endStream()) {
        return frames;
      }
    }
  }

  /** Reads (and keeps) frames until the server closes the connection; fails after {@code wait}. */
  void awaitClosed(Duration wait) throws IOException {
    long deadline = System.nanoTime() + wait.toNanos();
    while (readFrame(remaining(deadline, wait)) != null) {
      // keep reading: frames already in flight may precede the close
    }
  }

  /** Whether the server closed the connection (seen as EOF or a reset while reading). */
  boolean closedByPeer() {
    return closedByPeer;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }

  /**
   * Closes abortively: with SO_LINGER 0 the kernel discards unsent bytes and sends RST instead
   * of FIN, as when a peer host crashes or a middlebox drops the connection.
   */
  void abort() throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  /** TCP half-close: sends FIN, so the other side reads end-of-stream; reading still works. */
  void shutdownOutput() throws IOException {
    socket.shutdownOutput();
  }

  private Frame readHeaderBlock(int flags, int streamId, byte[] payload, long deadline)
      throws IOException {
    int start = 0;
    int end = payload.length;
    if ((flags & FrameType.PADDED) != 0) {
      start = 1;
      end -= payload[0] & 0xFF;
    }
    if ((flags & FrameType.PRIORITY_FLAG) != 0) {
      start += 5;
    }
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    block.write(payload, start, end - start);
    int lastFlags = flags;
    while ((lastFlags & FrameType.END_HEADERS) == 0) {
      byte[] header = new byte[FrameType.FRAME_HEADER_BYTES];
      readFully(header, deadline, false);
      ByteBuffer h = ByteBuffer.wrap(header);
      int length = (h.get() & 0xFF) << 16 | (h.get() & 0xFF) << 8 | (h.get() & 0xFF);
      int type = h.get() & 0xFF;
      lastFlags = h.get() & 0xFF;
      int id = h.getInt() & 0x7FFF_FFFF;
      if (type != FrameType.CONTINUATION || id != streamId) {
        throw new AssertionError("server broke a header block with " + FrameType.name(type)
            + " on stream " + id);
      }
      byte[] fragment = new byte[length];
      readFully(fragment, deadline, false);
      block.writeBytes(fragment);
    }
    byte[] bytes = block.toByteArray();
    try {
      Http2Headers headers = decoder.decode(streamId, ByteBuffer.wrap(bytes));
      return new Frame(FrameType.HEADERS, flags | FrameType.END_HEADERS, streamId, bytes, headers);
    } catch (Http2ConnectionError | Http2StreamError e) {
      throw new AssertionError("server sent an undecodable header block", e);
    }
  }

  /**
   * Fills {@code dst} before {@code deadline}. Returns false on a clean EOF before the first byte
   * when {@code eofAllowed}; a reset counts as EOF there too.
   */
  private boolean readFully(byte[] dst, long deadline, boolean eofAllowed) throws IOException {
    int done = 0;
    while (done < dst.length) {
      long leftMillis = (deadline - System.nanoTime()) / 1_000_000;
      if (leftMillis <= 0) {
        throw timeout(done, dst.length);
      }
      socket.setSoTimeout((int) Math.min(leftMillis, Integer.MAX_VALUE));
      int n;
      try {
        n = in.read(dst, done, dst.length - done);
      } catch (SocketTimeoutException e) {
        throw timeout(done, dst.length);
      } catch (SocketException e) {
        // "Connection reset": the server closed with our bytes unread. Still a close.
        if (eofAllowed && done == 0) {
          closedByPeer = true;
          return false;
        }
        throw e;
      }
      if (n < 0) {
        if (eofAllowed && done == 0) {
          closedByPeer = true;
          return false;
        }
        throw new EOFException("connection closed inside a frame after " + done + " of "
            + dst.length + " bytes; frames so far " + received);
      }
      done += n;
    }
    return true;
  }

  private AssertionError timeout(int done, int wanted) {
    return new AssertionError("timed out waiting for the server (" + done + " of " + wanted
        + " bytes of the next frame); frames so far " + received);
  }

  private static Duration remaining(long deadline, Duration wait) {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      throw new AssertionError("nothing expected arrived within " + wait);
    }
    return Duration.ofNanos(left);
  }

  /** One received frame; HEADERS carry their whole decoded block. Immutable. */
  static final class Frame {
    final int type;
    final int flags;
    final int streamId;
    final byte[] payload;
    /** Decoded header list of a HEADERS frame; null for other types. */
    final Http2Headers headers;

    Frame(int type, int flags, int streamId, byte[] payload, Http2Headers headers) {
      this.type = type;
      this.flags = flags;
      this.streamId = streamId;
      this.payload = payload;
      this.headers = headers;
    }

    boolean ack() {
      return (type == FrameType.SETTINGS || type == FrameType.PING)
          && (flags & FrameType.ACK) != 0;
    }

    boolean endStream() {
      return (type == FrameType.DATA || type == FrameType.HEADERS)
          && (flags & FrameType.END_STREAM) != 0;
    }

    /** The error code of a GOAWAY or RST_STREAM. */
    ErrorCode errorCode() {
      ByteBuffer p = ByteBuffer.wrap(payload);
      if (type == FrameType.GOAWAY) {
        return ErrorCode.forCode(p.getInt(4) & 0xFFFF_FFFFL);
      }
      if (type == FrameType.RST_STREAM) {
        return ErrorCode.forCode(p.getInt(0) & 0xFFFF_FFFFL);
      }
      throw new IllegalStateException("no error code in " + this);
    }

    /** GOAWAY's last stream id. */
    int lastStreamId() {
      if (type != FrameType.GOAWAY) {
        throw new IllegalStateException("not a GOAWAY: " + this);
      }
      return ByteBuffer.wrap(payload).getInt(0) & 0x7FFF_FFFF;
    }

    /** GOAWAY's debug data as text. */
    String debugData() {
      return new String(payload, 8, payload.length - 8, StandardCharsets.UTF_8);
    }

    /** A header of a HEADERS frame, or null. */
    String header(String name) {
      CharSequence v = headers == null ? null : headers.get(name);
      return v == null ? null : v.toString();
    }

    @Override
    public String toString() {
      StringBuilder s = new StringBuilder(FrameType.name(type)).append("(stream=").append(streamId)
          .append(", flags=0x").append(Integer.toHexString(flags))
          .append(", length=").append(payload.length);
      if (type == FrameType.GOAWAY) {
        s.append(", last=").append(lastStreamId()).append(", ").append(errorCode())
            .append(", \"").append(debugData()).append('"');
      } else if (type == FrameType.RST_STREAM) {
        s.append(", ").append(errorCode());
      } else if (headers != null) {
        s.append(", ").append(headers);
      }
      return s.append(')').toString();
    }
  }
}
