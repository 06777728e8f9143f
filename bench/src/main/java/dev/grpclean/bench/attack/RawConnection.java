package dev.grpclean.bench.attack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Settings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;

/**
 * One attacker connection: a non-blocking socket registered with its {@link Wire}'s selector
 * (connected by the wire's poll loop too),
 * the {@link Frames} crafted for it, a queue of batches the socket has not taken yet, and a
 * {@link DefaultHttp2FrameReader} that parses whatever the server sends into its
 * {@link ServerAnswer}. Nothing here blocks: the wire's poll loop moves bytes when the socket is
 * ready.
 *
 * <p>By default the connection reads everything and answers the server's SETTINGS and PINGs like
 * a client would; floods that must not read switch reading off ({@link #reading(boolean)}).
 *
 * <p>Confined to the attacking thread.
 */
final class RawConnection implements ServerAnswer.Peer, AutoCloseable {
  /** Bytes read per call; the poll loop comes back for the rest. */
  private static final int READ_CHUNK = 64 * 1024;
  /** Bytes read per readiness event, so a chatty server cannot starve our writes. */
  private static final int READ_PER_EVENT = 1 << 20;
  /** Our HPACK decoder's limit: far above any response, so we never refuse the server's. */
  private static final long MAX_RESPONSE_HEADER_LIST = 1 << 20;

  final Frames frames = new Frames();
  final ServerAnswer answer;
  private final SocketChannel channel;
  private final SelectionKey key;
  private final DefaultHttp2FrameReader reader = new DefaultHttp2FrameReader(
      new DefaultHttp2HeadersDecoder(false, MAX_RESPONSE_HEADER_LIST));
  private final ByteBuf inbound = Unpooled.buffer(READ_CHUNK);
  private final ArrayDeque<Frames.Batch> outbound = new ArrayDeque<>();
  private boolean connected;
  private boolean reading = true;
  private boolean answering = true;
  private long lastProgressNanos = System.nanoTime();
  /** The socket is closed and the buffers are gone (either end closed it). */
  private boolean released;

  private RawConnection(SocketChannel channel, SelectionKey key, ServerAnswer answer) {
    this.channel = channel;
    this.key = key;
    this.answer = answer;
    answer.peer(this);
    if (key != null) {
      key.attach(this);
      updateInterest();
    }
  }

  /**
   * Starts a non-blocking connect and registers with {@code selector}; the wire's poll loop
   * finishes it, so many connects are in flight at once. Bytes sent before it completes wait.
   * A connection that cannot be made ends as {@link ServerAnswer.Close#REFUSED}.
   */
  static RawConnection open(InetSocketAddress server, Selector selector, long startNanos) {
    ServerAnswer answer = new ServerAnswer(startNanos);
    SocketChannel ch = null;
    try {
      ch = SocketChannel.open();
      ch.configureBlocking(false);
      ch.socket().setTcpNoDelay(true);
      boolean connected = ch.connect(server);
      SelectionKey key = ch.register(selector, SelectionKey.OP_CONNECT);
      RawConnection c = new RawConnection(ch, key, answer);
      if (connected) {
        c.onConnected();
      }
      return c;
    } catch (IOException e) {
      closeQuietly(ch);
      answer.closed(ServerAnswer.Close.REFUSED, String.valueOf(e.getMessage()));
      return new RawConnection(null, null, answer);
    }
  }

  /** The socket is connectable: the connect succeeded or failed. */
  void finishConnect() {
    try {
      if (channel.finishConnect()) {
        onConnected();
      }
    } catch (IOException e) {
      answer.closed(ServerAnswer.Close.REFUSED, String.valueOf(e.getMessage()));
      release();
    }
  }

  private void onConnected() {
    connected = true;
    answer.connectedAtMillis = answer.nowMillis();
    lastProgressNanos = System.nanoTime();
    flush();
  }

  boolean connected() {
    return connected;
  }

  /** Sends the preface and our SETTINGS; {@link #handshaken()} turns true once both acks are in. */
  void startHandshake(Http2Settings ours) {
    send(frames.preface().settings(ours).take());
  }

  /** The server's SETTINGS arrived (and we acked them), and it acked ours. */
  boolean handshaken() {
    return answer.serverSettingsSeen && answer.settingsAcks > 0;
  }

  /** Whether to read the socket at all. Off: the server's frames pile up unread. */
  void reading(boolean on) {
    reading = on;
    updateInterest();
  }

  /** Whether to acknowledge the server's SETTINGS and PINGs (on by default). */
  void answering(boolean on) {
    answering = on;
  }

  boolean closed() {
    return answer.closed();
  }

  boolean hasPending() {
    return !outbound.isEmpty();
  }

  /**
   * How long queued bytes have waited without the socket taking any; 0 when none wait or the
   * connect has not completed (that is no stall of the server's reading).
   */
  long stalledNanos() {
    return outbound.isEmpty() || !connected ? 0 : System.nanoTime() - lastProgressNanos;
  }

  /** Queues a batch and writes what the socket takes now. A closed connection drops it. */
  void send(Frames.Batch batch) {
    if (closed()) {
      batch.bytes.release();
      return;
    }
    if (outbound.isEmpty()) {
      lastProgressNanos = System.nanoTime();
    }
    outbound.add(batch);
    flush();
  }

  /** Writes queued bytes until the socket refuses more. */
  void flush() {
    if (!connected) {
      return;
    }
    while (!outbound.isEmpty() && !closed()) {
      Frames.Batch b = outbound.peek();
      int framesBefore = b.framesWritten();
      int written;
      try {
        written = b.bytes.readBytes(channel, b.bytes.readableBytes());
      } catch (IOException e) {
        // The server is gone. Whatever it sent before that may still sit in our receive buffer.
        answer.unreadAtClose = !reading;
        answer.closed(ServerAnswer.Close.RESET, "write: " + e.getMessage());
        readAvailable(true);
        release();
        return;
      }
      answer.framesSent += b.framesWritten() - framesBefore;
      answer.bytesSent += written;
      if (written > 0) {
        lastProgressNanos = System.nanoTime();
      }
      if (b.bytes.isReadable()) {
        break;
      }
      outbound.poll().bytes.release();
    }
    updateInterest();
  }

  /** Reads and parses what the socket has now (up to a bound per call). */
  void readAvailable() {
    readAvailable(false);
  }

  private void readAvailable(boolean afterFailure) {
    if (released) {
      return;
    }
    long total = 0;
    try {
      while (total < READ_PER_EVENT || afterFailure) {
        inbound.ensureWritable(READ_CHUNK);
        int n = inbound.writeBytes(channel, READ_CHUNK);
        if (n < 0) {
          parse();
          answer.closed(ServerAnswer.Close.EOF, "end of stream");
          release();
          return;
        }
        if (n == 0) {
          break;
        }
        total += n;
        parse();
      }
    } catch (IOException e) {
      parse();
      answer.closed(ServerAnswer.Close.RESET, "read: " + e.getMessage());
      release();
      return;
    }
    updateInterest();
  }

  private void parse() {
    if (answer.parseError == null && inbound.isReadable()) {
      try {
        reader.readFrame(frames.context(), inbound, answer);
      } catch (Http2Exception | RuntimeException e) {
        answer.parseError = String.valueOf(e.getMessage());
      }
    }
    if (answer.parseError != null) {
      inbound.clear();
    } else {
      inbound.discardSomeReadBytes();
    }
  }

  @Override
  public void onServerSettings(Http2Settings settings) {
    try {
      frames.applyServerSettings(settings);
    } catch (Http2Exception e) {
      answer.parseError = "server SETTINGS we cannot apply: " + e.getMessage();
    }
    if (answering) {
      answerWith(frames.settingsAck());
    }
  }

  @Override
  public void onServerPing(long payload) {
    if (answering) {
      answerWith(frames.ping(true, payload));
    }
  }

  /** Sends a reply crafted inside a read; attacks take their batches before they poll. */
  private void answerWith(Frames crafted) {
    if (crafted.pendingFrames() != 1) {
      throw new IllegalStateException("a reply was crafted while an attack batch was open");
    }
    send(crafted.take());
  }

  private void updateInterest() {
    if (key == null || !key.isValid()) {
      return;
    }
    int ops = !connected ? SelectionKey.OP_CONNECT
        : (reading ? SelectionKey.OP_READ : 0) | (outbound.isEmpty() ? 0 : SelectionKey.OP_WRITE);
    key.interestOps(ops);
  }

  /** Closes our end; what the server did stays in {@link #answer}. Idempotent. */
  @Override
  public void close() {
    release();
    frames.close();
  }

  private void release() {
    if (released) {
      return;
    }
    released = true;
    if (key != null) {
      key.cancel();
    }
    closeQuietly(channel);
    for (Frames.Batch b : outbound) {
      b.bytes.release();
    }
    outbound.clear();
    inbound.release();
    reader.close();
  }

  private static void closeQuietly(SocketChannel ch) {
    if (ch == null) {
      return;
    }
    try {
      ch.close();
    } catch (IOException e) {
      // Closing anyway.
    }
  }
}
