package dev.grpclean.transport;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.api.SilentCloseable;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.ByteMethods;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.FuzzInput;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerTransportFilter;
import io.grpc.stub.ClientCalls;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes the whole inbound side of a server connection ({@code ServerConnection} over
 * {@code Http2Connection} and {@code SecureSocket}: read path, frame reader, HPACK, stream state
 * machine, flow control, GOAWAY and close paths, the echo application behind it) with arbitrary
 * bytes after the client preface, written in arbitrary pieces to a real lean server on 127.0.0.1.
 *
 * <p>Why a socket: the connection reads only from the {@code SocketChannel} registered with its
 * poller's selector, and a selector accepts only the JDK's own channels, so there is no in-memory
 * seam without changing production code. One loopback connection per input costs a few hundred
 * microseconds; fine for a stateful target. The application runs on the poller thread
 * ({@code directExecutor}), which keeps every input's run as deterministic as a socket allows.
 * Split points are best effort: TCP may merge pieces (the frame target covers exact splits).
 *
 * <p>Input layout ({@link FuzzInput}): byte 0 options (bit 0: end with a reset instead of a
 * half-close), byte 1 the number of split points (0 to 15), two bytes per split point (big-endian,
 * modulo the length), then the bytes sent after the preface.
 *
 * <p>Per input: connect and read the server's SETTINGS (so the transport exists), send the preface
 * and the pieces, then:
 * <ul>
 *   <li>if the bytes end on a frame boundary with no header block open, a PING must be answered or
 *       the connection closed by the server, within a bound: it may not hang;
 *   <li>after our half-close the server must close too (or after our reset, just go away);
 *   <li>the server transport must terminate, and then every buffer lease of the transport's pools
 *       must come back to what was outstanding before the input (a bounded poll: the last
 *       application write is released on the loop just after termination).
 * </ul>
 *
 * <p>{@code scripts/fuzz server} runs it in fuzzing mode; plain {@code mvn verify} runs it over
 * {@code ServerConnectionFuzzTestInputs/serveConnection}. The class timeout is also Jazzer's
 * per-input timeout when fuzzing.
 *
 * <p>One server for the class; inputs run one at a time on the fuzzing thread, while the server
 * and the application run on its poller thread.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ServerConnectionFuzzTest {
  /** Bound on each wait: for an answer, a close, the termination, the leases. */
  private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final long PROBE_PING = 0x66757A7A70726F62L; // "fuzzprob"
  private static final int MAX_CONCURRENT_CALLS = 4;

  /** A client-streaming method whose handler never requests a message (nothing is consumed). */
  private static final MethodDescriptor<byte[], byte[]> SINK =
      ByteMethods.method(MethodDescriptor.MethodType.CLIENT_STREAMING, "test.Stall", "Sink");

  private static Server server;
  private static InetSocketAddress address;
  /** One permit per server transport that terminated; released on the transport's loop. */
  private static final Semaphore terminated = new Semaphore(0);

  @BeforeAll
  static void startServer() throws IOException, InterruptedException {
    InetSocketAddress anyPort = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    server = LeanServerBuilder.forAddress(anyPort)
        .directExecutor()
        .flowControlWindow(FrameType.DEFAULT_INITIAL_WINDOW)
        .maxConcurrentCallsPerConnection(MAX_CONCURRENT_CALLS)
        .addService(Echo.service())
        .addService(ServerServiceDefinition.builder("test.Stall")
            .addMethod(SINK, (call, headers) -> new ServerCall.Listener<byte[]>() {})
            .build())
        .addTransportFilter(new ServerTransportFilter() {
          @Override
          public void transportTerminated(Attributes transportAttrs) {
            terminated.release();
          }
        })
        .build()
        .start();
    // One object for every connect: the SSRF check's host name lookup is then done once.
    address = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getPort());
    warmUp();
  }

  /**
   * One unary call on a normal channel, so the first input does not pay for loading (and, in
   * fuzzing mode, instrumenting) the server's classes inside its bounded waits.
   */
  private static void warmUp() throws InterruptedException {
    ManagedChannel channel = LeanChannelBuilder.forAddress(address.getHostString(),
        address.getPort()).usePlaintext().build();
    try {
      ClientCalls.blockingUnaryCall(channel, Echo.UNARY,
          CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), new byte[] {1});
    } finally {
      channel.shutdownNow();
    }
    if (!terminated.tryAcquire(20, TimeUnit.SECONDS)) {
      throw new AssertionError("the warm-up connection's server transport did not terminate");
    }
  }

  @AfterAll
  static void stopServer() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  @FuzzTest(maxDuration = "20s")
  void serveConnection(byte[] input) throws Exception {
    FuzzInput fuzzInput = FuzzInput.of(input);
    boolean reset = (fuzzInput.options() & 1) != 0;
    byte[] frames = fuzzInput.payload();
    List<byte[]> pieces = fuzzInput.pieces(frames);

    long leasesBefore = LeanTransportStats.leasesOutstanding();
    terminated.drainPermits(); // every earlier input waited for its own transport
    // Jazzer's SSRF detector reports any connection it is not told about: allow the server's.
    SilentCloseable allowed =
        BugDetectors.allowNetworkConnections((host, port) -> port == address.getPort());
    try (Peer peer = Peer.connect(address)) {
      RawFrame first = peer.readFrame(System.nanoTime() + WAIT_NANOS);
      if (first == null || first.type != FrameType.SETTINGS || first.ack()) {
        throw new AssertionError("the server did not open with SETTINGS: " + first);
      }
      boolean sent = peer.write(FrameType.CONNECTION_PREFACE);
      for (byte[] piece : pieces) {
        sent = sent && peer.write(piece);
      }
      if (sent && endsCleanly(frames)) {
        peer.awaitPingAnswerOrClose();
      }
      if (reset) {
        peer.reset();
      } else {
        peer.halfCloseAndAwaitClose();
      }
    } finally {
      allowed.close();
    }
    if (!terminated.tryAcquire(WAIT_NANOS, TimeUnit.NANOSECONDS)) {
      throw new AssertionError("the server transport did not terminate after the peer left");
    }
    LeanLeases.awaitOutstandingAtMost(leasesBefore, Duration.ofNanos(WAIT_NANOS));
  }

  /**
   * Whether {@code frames} end on a frame boundary outside a header block (RFC 9113 §4.1, §6.10):
   * then a PING we send next is read as a PING by a server still willing to read.
   */
  private static boolean endsCleanly(byte[] frames) {
    int at = 0;
    boolean blockOpen = false;
    while (frames.length - at >= FrameType.FRAME_HEADER_BYTES) {
      int length = (frames[at] & 0xff) << 16 | (frames[at + 1] & 0xff) << 8
          | (frames[at + 2] & 0xff);
      int type = frames[at + 3];
      int flags = frames[at + 4];
      at += FrameType.FRAME_HEADER_BYTES + length;
      if (type == FrameType.HEADERS || type == FrameType.CONTINUATION) {
        blockOpen = (flags & FrameType.END_HEADERS) == 0;
      }
    }
    return at == frames.length && !blockOpen;
  }

  /** One frame as the server sent it; HEADERS blocks are not decoded. */
  private static final class RawFrame {
    final int type;
    final int flags;
    final byte[] payload;

    RawFrame(int type, int flags, byte[] payload) {
      this.type = type;
      this.flags = flags;
      this.payload = payload;
    }

    boolean ack() {
      return (flags & FrameType.ACK) != 0;
    }

    @Override
    public String toString() {
      return FrameType.name(type) + " flags=0x" + Integer.toHexString(flags) + " length="
          + payload.length;
    }
  }

  /**
   * The fuzzer's side of one connection: a blocking socket whose every wait is bounded by a read
   * timeout. Confined to the fuzzing thread.
   */
  private static final class Peer implements AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private boolean closedByServer;

    private Peer(Socket socket) throws IOException {
      this.socket = socket;
      this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
      this.out = socket.getOutputStream();
    }

    static Peer connect(InetSocketAddress address) throws IOException {
      Socket s = new Socket();
      s.setTcpNoDelay(true); // one segment per piece, as far as TCP allows
      s.connect(address, (int) TimeUnit.NANOSECONDS.toMillis(WAIT_NANOS));
      return new Peer(s);
    }

    /** Writes one piece; false if the server already closed (its right after an error). */
    boolean write(byte[] piece) {
      try {
        out.write(piece);
        out.flush();
        return true;
      } catch (IOException e) {
        return false;
      }
    }

    /** Sends a PING; returns once it is acknowledged or the server has closed. */
    void awaitPingAnswerOrClose() throws IOException {
      if (!write(RawFrames.ping(false, PROBE_PING))) {
        return;
      }
      long deadline = System.nanoTime() + WAIT_NANOS;
      RawFrame f;
      while ((f = readFrame(deadline)) != null) {
        if (f.type == FrameType.PING && f.ack() && f.payload.length == 8
            && ByteBuffer.wrap(f.payload).getLong() == PROBE_PING) {
          return;
        }
      }
    }

    /** Half-closes our side; the server must see the end of input and close its side too. */
    void halfCloseAndAwaitClose() throws IOException {
      try {
        socket.shutdownOutput();
      } catch (IOException e) {
        return; // already reset by the server
      }
      long deadline = System.nanoTime() + WAIT_NANOS;
      while (readFrame(deadline) != null) {
        // frames in flight may precede the close
      }
    }

    /** Leaves with a TCP reset. */
    void reset() throws IOException {
      socket.setSoLinger(true, 0);
      socket.close();
    }

    /**
     * The next frame, or null once the server has closed (end of stream or reset, also inside a
     * frame: its last write before closing is best effort).
     *
     * @throws AssertionError if nothing arrives before {@code deadline}
     */
    RawFrame readFrame(long deadline) throws IOException {
      if (closedByServer) {
        return null;
      }
      try {
        byte[] header = new byte[FrameType.FRAME_HEADER_BYTES];
        readFully(header, deadline);
        int length = (header[0] & 0xff) << 16 | (header[1] & 0xff) << 8 | (header[2] & 0xff);
        byte[] payload = new byte[length];
        readFully(payload, deadline);
        return new RawFrame(header[3] & 0xff, header[4] & 0xff, payload);
      } catch (EOFException | SocketException e) {
        closedByServer = true;
        return null;
      }
    }

    private void readFully(byte[] dst, long deadline) throws IOException {
      int done = 0;
      while (done < dst.length) {
        long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (leftMillis <= 0) {
          throw new AssertionError("the server neither answered nor closed within "
              + TimeUnit.NANOSECONDS.toSeconds(WAIT_NANOS) + " s");
        }
        socket.setSoTimeout((int) Math.min(leftMillis, Integer.MAX_VALUE));
        int n;
        try {
          n = in.read(dst, done, dst.length - done);
        } catch (SocketTimeoutException e) {
          continue; // the deadline check above decides
        }
        if (n < 0) {
          throw new EOFException();
        }
        done += n;
      }
    }

    @Override
    public void close() throws IOException {
      if (!socket.isClosed()) {
        // Abortive: the server has closed (or will, on the reset); no TIME_WAIT per input.
        socket.setSoLinger(true, 0);
        socket.close();
      }
    }
  }
}
