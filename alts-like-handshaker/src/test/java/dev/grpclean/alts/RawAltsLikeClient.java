package dev.grpclean.alts;

import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.RecordProtector;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Arrays;

/**
 * A frame-level fake ALTS-like client on a blocking {@link Socket}: it runs the module's real
 * client {@link Handshaker}, then seals whatever bytes a test chooses with the resulting
 * {@link RecordProtector}, so a test can send well-formed, tampered, replayed or oversized records
 * (of frames from {@code RawFrames}) and read the server's HTTP/2 frames back.
 *
 * <p>Thread-compatible: one test thread.
 */
final class RawAltsLikeClient implements Closeable {
  /** Bounds every blocking read, so a server that neither answers nor closes fails the test. */
  private static final int READ_TIMEOUT_MILLIS = 10_000;

  /** An HTTP/2 frame as read from the server. */
  record Frame(int type, int flags, int streamId, byte[] payload) {}

  private final Socket socket;
  private final Handshaker handshaker;
  private final byte[] readBuf = new byte[64 << 10];
  /** Plaintext opened from the server's records, not yet parsed into frames. */
  private final ByteArrayOutputStream plaintext = new ByteArrayOutputStream();
  private RecordProtector protector;

  private RawAltsLikeClient(Socket socket, AltsLikeChannelCredentials creds) throws IOException {
    this.socket = socket;
    socket.setSoTimeout(READ_TIMEOUT_MILLIS);
    socket.setTcpNoDelay(true);
    this.handshaker =
        creds.handshakerFactory(true).newHandshaker(null, socket.getRemoteSocketAddress());
  }

  static RawAltsLikeClient connect(int port, AltsLikeChannelCredentials creds) throws IOException {
    return new RawAltsLikeClient(new Socket("127.0.0.1", port), creds);
  }

  /** Starts the client handshaker and returns its ClientInit, without sending it. */
  byte[] clientInit() throws Exception {
    ByteBuffer out = ByteBuffer.allocate(handshaker.maxOutputBytes());
    handshaker.start(out);
    return Arrays.copyOf(out.array(), out.position());
  }

  /** Runs the whole client handshake; afterwards {@link #seal} works. */
  void handshake() throws Exception {
    send(clientInit());
    ByteBuffer out = ByteBuffer.allocate(handshaker.maxOutputBytes());
    boolean done = false;
    while (!done) {
      ByteBuffer in = ByteBuffer.wrap(readBuf, 0, readSome());
      done = handshaker.onBytes(in, out);
      send(Arrays.copyOf(out.array(), out.position()));
      out.clear();
      if (done) {
        protector = handshaker.protector();
        open(in);
      }
    }
  }

  /** Seals {@code plain} into records with this connection's next counters. */
  byte[] seal(byte[] plain) throws GeneralSecurityException {
    ByteBuffer out = ByteBuffer.allocate(protector.maxProtectedBytes(plain.length));
    protector.protect(ByteBuffer.wrap(plain), out);
    return Arrays.copyOf(out.array(), out.position());
  }

  void send(byte[] bytes) throws IOException {
    socket.getOutputStream().write(bytes);
    socket.getOutputStream().flush();
  }

  void shutdownOutput() throws IOException {
    socket.shutdownOutput();
  }

  /**
   * Opens the server's records until a frame of {@code type} with exactly {@code flags} arrives;
   * frames before it are skipped.
   */
  Frame awaitFrame(int type, int flags) throws Exception {
    while (true) {
      Frame frame;
      while ((frame = nextFrame()) != null) {
        if (frame.type() == type && frame.flags() == flags) {
          return frame;
        }
      }
      open(ByteBuffer.wrap(readBuf, 0, readSome()));
    }
  }

  /**
   * Reads until the server closes the connection (EOF or reset); fails after the read timeout.
   *
   * @return bytes the server sent (and this client had not consumed) before closing
   */
  int awaitClose() throws IOException {
    InputStream in = socket.getInputStream();
    int received = 0;
    try {
      for (int n; (n = in.read(readBuf)) >= 0; ) {
        received += n;
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the server did not close the connection within "
          + READ_TIMEOUT_MILLIS + " ms", e);
    } catch (SocketException reset) {
      // A reset is a close too.
    }
    return received;
  }

  /** Closes with a TCP reset (SO_LINGER 0) instead of a FIN. */
  void reset() throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }

  private int readSome() throws IOException {
    int n = socket.getInputStream().read(readBuf);
    if (n < 0) {
      throw new IOException("the server closed the connection");
    }
    return n;
  }

  private void open(ByteBuffer records) throws Exception {
    protector.unprotect(records, plain -> {
      byte[] copy = new byte[plain.remaining()];
      plain.get(copy);
      plaintext.writeBytes(copy);
    });
  }

  /** Parses and removes one whole frame from {@link #plaintext}, or returns null. */
  private Frame nextFrame() {
    byte[] bytes = plaintext.toByteArray();
    if (bytes.length < FrameType.FRAME_HEADER_BYTES) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    int length = (b.get() & 0xff) << 16 | (b.get() & 0xff) << 8 | (b.get() & 0xff);
    if (bytes.length < FrameType.FRAME_HEADER_BYTES + length) {
      return null;
    }
    int type = b.get() & 0xff;
    int flags = b.get() & 0xff;
    int streamId = b.getInt() & 0x7fffffff;
    byte[] payload = new byte[length];
    b.get(payload);
    plaintext.reset();
    plaintext.write(bytes, b.position(), b.remaining());
    return new Frame(type, flags, streamId, payload);
  }
}
