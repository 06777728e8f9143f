package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import dev.grpclean.bench.BenchService;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The cheap client side of the idle scenario at scale: plain non-blocking sockets that each do
 * the HTTP/2 handshake (preface, SETTINGS both ways, acks) and one real unary Echo RPC (request
 * headers and message, the server's response and trailers with grpc-status 0), then keep only
 * the socket open, unread. A connection in flight holds a read buffer and an HPACK decoder; an
 * idle one holds its {@link SocketChannel} and nothing else, so the client JVM can keep as many
 * connections as it has file descriptors.
 *
 * <p>Loopback clients bind a source address of their own per {@link #CONNECTIONS_PER_SOURCE}
 * connections (127.0.0.2, 127.0.0.3, ...): one source address has only about 28,000 ephemeral
 * ports (32768-60999) towards one server port.
 *
 * <p>Confined to the client role's thread.
 */
final class RawIdleClients implements AutoCloseable {
  /** Connections per loopback source address: below the ~28k ephemeral ports of one. */
  static final int CONNECTIONS_PER_SOURCE = 20_000;
  /**
   * Handshakes in flight at once: enough to be quick, few enough that each finishes well within
   * the server's SETTINGS ack timeout (20 s for lean) on a loaded machine.
   */
  private static final int IN_FLIGHT = 64;
  private static final long DEADLINE_SECONDS = 60;
  private static final byte[] PREFACE =
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final int SETTINGS = 4;
  private static final int HEADERS = 1;
  private static final int GOAWAY = 7;
  private static final int RST_STREAM = 3;

  private final InetSocketAddress server;
  private final boolean loopback;
  /** Preface, empty SETTINGS, HEADERS and DATA (END_STREAM) of one Echo call on stream 1. */
  private final byte[] opening;
  private final List<SocketChannel> idle = new ArrayList<>();

  RawIdleClients(String host, int port) throws IOException {
    this.server = new InetSocketAddress(host, port);
    this.loopback = InetAddress.getByName(host).isLoopbackAddress();
    this.opening = openingBytes(host + ":" + port);
  }

  int size() {
    return idle.size();
  }

  /** Opens {@code n} more connections, each through the handshake and one RPC; then idle. */
  JsonObject open(int n) throws IOException {
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS + n / 100);
    int started = 0;
    int done = 0;
    try (Selector selector = Selector.open()) {
      while (done < n) {
        while (started < n && selector.keys().size() < IN_FLIGHT) {
          start(selector, idle.size() + started);
          started++;
        }
        if (System.nanoTime() > deadline) {
          throw new IOException("only " + done + " of " + n + " raw connections finished their"
              + " RPC in time");
        }
        selector.select(1000);
        Iterator<SelectionKey> it = selector.selectedKeys().iterator();
        while (it.hasNext()) {
          SelectionKey key = it.next();
          it.remove();
          Conn c = (Conn) key.attachment();
          if (c.step(key)) {
            key.cancel();
            idle.add(c.channel);
            done++;
          }
        }
        selector.selectNow(); // flushes cancelled keys, so keys().size() counts those in flight
      }
    }
    JsonObject o = new JsonObject();
    o.addProperty("channels", idle.size());
    o.addProperty("openMillis", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    return o;
  }

  private void start(Selector selector, int index) throws IOException {
    SocketChannel ch = SocketChannel.open();
    try {
      ch.configureBlocking(false);
      ch.socket().setTcpNoDelay(true);
      if (loopback) {
        int source = 2 + index / CONNECTIONS_PER_SOURCE; // 127.0.0.2, 127.0.0.3, ...
        ch.bind(new InetSocketAddress(
            InetAddress.getByAddress(new byte[] {127, 0, (byte) (source >> 8), (byte) source}),
            0));
      }
      Conn c = new Conn(ch);
      if (ch.connect(server)) {
        c.onConnected();
        ch.register(selector, SelectionKey.OP_READ | c.writeOp(), c);
      } else {
        ch.register(selector, SelectionKey.OP_CONNECT, c);
      }
    } catch (IOException e) {
      ch.close();
      throw new IOException("connection " + index + " to " + server + " failed: " + e, e);
    }
  }

  /** One connection during its handshake and RPC. */
  private final class Conn {
    final SocketChannel channel;
    private ByteBuffer out;
    private ByteBuffer in = ByteBuffer.allocate(16 * 1024);
    private final DefaultHttp2HeadersDecoder decoder =
        new DefaultHttp2HeadersDecoder(false, 1 << 20);
    private boolean settingsAcked;
    private boolean serverSettingsSeen;
    private boolean finishedCall;

    Conn(SocketChannel channel) {
      this.channel = channel;
      this.out = ByteBuffer.wrap(opening);
    }

    int writeOp() {
      return out.hasRemaining() ? SelectionKey.OP_WRITE : 0;
    }

    void onConnected() throws IOException {
      channel.write(out);
    }

    /** Moves bytes; returns true once the RPC succeeded and both SETTINGS are acknowledged. */
    boolean step(SelectionKey key) throws IOException {
      if (key.isConnectable()) {
        channel.finishConnect();
        onConnected();
      }
      if (key.isReadable()) {
        int r = channel.read(in);
        if (r < 0) {
          throw new IOException("the server closed a raw connection during its RPC");
        }
        in.flip();
        parse();
        in.compact();
      }
      if (out.hasRemaining()) {
        channel.write(out);
      }
      if (finishedCall && settingsAcked && serverSettingsSeen && !out.hasRemaining()) {
        return true;
      }
      key.interestOps(SelectionKey.OP_READ | writeOp());
      return false;
    }

    private void parse() throws IOException {
      while (in.remaining() >= 9) {
        int length = ((in.get(in.position()) & 0xFF) << 16)
            | ((in.get(in.position() + 1) & 0xFF) << 8) | (in.get(in.position() + 2) & 0xFF);
        if (in.remaining() < 9 + length) {
          if (9 + length > in.capacity()) {
            ByteBuffer bigger = ByteBuffer.allocate(9 + length);
            bigger.put(in);
            bigger.flip();
            in = bigger;
          }
          return;
        }
        int type = in.get(in.position() + 3) & 0xFF;
        int flags = in.get(in.position() + 4) & 0xFF;
        int streamId = in.getInt(in.position() + 5) & 0x7FFF_FFFF;
        byte[] payload = new byte[length];
        in.position(in.position() + 9);
        in.get(payload);
        if (type == SETTINGS) {
          if ((flags & 1) != 0) {
            settingsAcked = true;
          } else {
            serverSettingsSeen = true;
            sendSettingsAck();
          }
        } else if (type == HEADERS && streamId == 1) {
          Http2Headers h = decode(payload, flags);
          if ((flags & 1) != 0) { // END_STREAM: the trailers
            CharSequence status = h.get("grpc-status");
            if (status == null || !"0".contentEquals(status)) {
              throw new IOException("raw RPC failed: grpc-status " + status + ", " + h);
            }
            finishedCall = true;
          }
        } else if (type == GOAWAY && length >= 8) {
          throw new IOException("the server sent GOAWAY during a raw RPC: error code "
              + (((payload[4] & 0xFFL) << 24) | ((payload[5] & 0xFF) << 16)
                  | ((payload[6] & 0xFF) << 8) | (payload[7] & 0xFF))
              + ", " + new String(payload, 8, length - 8,
                  java.nio.charset.StandardCharsets.UTF_8));
        } else if (type == RST_STREAM) {
          throw new IOException("the server reset the raw RPC's stream");
        }
      }
    }

    private Http2Headers decode(byte[] payload, int flags) throws IOException {
      int from = 0;
      int to = payload.length;
      if ((flags & 0x8) != 0) { // PADDED
        from = 1;
        to -= payload[0] & 0xFF;
      }
      if ((flags & 0x20) != 0) { // PRIORITY
        from += 5;
      }
      if ((flags & 0x4) == 0) {
        throw new IOException("the raw client does not take CONTINUATION frames");
      }
      try {
        return decoder.decodeHeaders(1, Unpooled.wrappedBuffer(payload, from, to - from));
      } catch (Http2Exception e) {
        throw new IOException("undecodable response headers: " + e.getMessage(), e);
      }
    }

    private void sendSettingsAck() throws IOException {
      ByteBuffer ack = ByteBuffer.allocate(out.remaining() + 9);
      ack.put(out);
      ack.put(new byte[] {0, 0, 0, SETTINGS, 1, 0, 0, 0, 0});
      ack.flip();
      out = ack; // what was left of the opening bytes, then the ack; step() writes it
    }
  }

  /** Preface, empty SETTINGS, request HEADERS, DATA with END_STREAM on stream 1. */
  private static byte[] openingBytes(String authority) throws IOException {
    Http2Headers headers = new DefaultHttp2Headers()
        .method("POST").scheme("http")
        .path("/" + BenchService.ECHO.getFullMethodName())
        .authority(authority)
        .add("content-type", "application/grpc")
        .add("te", "trailers")
        .add("user-agent", "grpc-lean-bench-raw/1")
        .add("grpc-accept-encoding", "gzip");
    ByteBuf block = Unpooled.buffer();
    try {
      new DefaultHttp2HeadersEncoder().encodeHeaders(1, headers, block);
    } catch (Http2Exception e) {
      throw new IOException(e);
    }
    byte[] message;
    try (InputStream s = BenchService.ECHO.getRequestMarshaller()
        .stream(BenchService.constant(ClientRole.SMALL_PAYLOAD_BYTES))) {
      message = s.readAllBytes();
    }
    int blockBytes = block.readableBytes();
    ByteBuffer b = ByteBuffer.allocate(PREFACE.length + 9 + 9 + blockBytes + 9 + 5
        + message.length);
    b.put(PREFACE);
    frameHeader(b, 0, SETTINGS, 0, 0);
    frameHeader(b, blockBytes, HEADERS, 0x4, 1); // END_HEADERS
    block.readBytes(b.array(), b.position(), blockBytes);
    b.position(b.position() + blockBytes);
    frameHeader(b, 5 + message.length, 0 /* DATA */, 0x1, 1); // END_STREAM
    b.put((byte) 0).putInt(message.length).put(message);
    block.release();
    return b.array();
  }

  private static void frameHeader(ByteBuffer b, int length, int type, int flags, int streamId) {
    b.put((byte) (length >>> 16)).put((byte) (length >>> 8)).put((byte) length)
        .put((byte) type).put((byte) flags).putInt(streamId);
  }

  @Override
  public void close() {
    for (SocketChannel ch : idle) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // Closing everything anyway.
      }
    }
    idle.clear();
  }
}
