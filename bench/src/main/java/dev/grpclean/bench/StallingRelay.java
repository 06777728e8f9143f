package dev.grpclean.bench;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * A TCP relay between the doctor's channels and its server ({@code bench doctor --stalled-reader}):
 * it passes the client's bytes on as they come and the server's first {@link #FORWARDED_BYTES}
 * (the HTTP/2 handshake and the start of the responses), then stops reading from the server, as
 * a peer that stops reading would: the server's socket send buffer fills. Its side of the server
 * connection has a small receive buffer, so that happens at once.
 *
 * <p>Thread-safe: an accepting thread and two copying threads per connection, all daemons; {@link
 * #close} ends them.
 */
final class StallingRelay implements Closeable {
  /** What the relay passes on from the server before it stops reading. */
  static final int FORWARDED_BYTES = 1 << 20;
  private static final int SERVER_SIDE_RECEIVE_BUFFER_BYTES = 16 * 1024;

  private final int serverPort;
  private final ServerSocket listener;
  private final CountDownLatch closed = new CountDownLatch(1);
  private final List<Socket> sockets = new ArrayList<>(); // @GuardedBy("this")

  StallingRelay(int serverPort) throws IOException {
    this.serverPort = serverPort;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    daemon("stalling-relay-accept", this::accept);
  }

  /** The port the channels connect to. */
  int port() {
    return listener.getLocalPort();
  }

  private void accept() {
    try {
      while (true) {
        Socket client = listener.accept();
        Socket server = new Socket();
        server.setReceiveBufferSize(SERVER_SIDE_RECEIVE_BUFFER_BYTES);
        server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), serverPort));
        synchronized (this) {
          sockets.add(client);
          sockets.add(server);
        }
        daemon("stalling-relay-up", () -> copy(client, server, Long.MAX_VALUE));
        daemon("stalling-relay-down", () -> copy(server, client, FORWARDED_BYTES));
      }
    } catch (IOException e) {
      // Closed: the run is over.
    }
  }

  /** Copies up to {@code limit} bytes, then reads no more until the relay closes. */
  private void copy(Socket from, Socket to, long limit) {
    byte[] buf = new byte[16 * 1024];
    long copied = 0;
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      while (copied < limit) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, limit - copied));
        if (n < 0) {
          return;
        }
        out.write(buf, 0, n);
        copied += n;
      }
      closed.await();
    } catch (IOException e) {
      // A side closed.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void daemon(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() throws IOException {
    closed.countDown();
    listener.close();
    synchronized (this) {
      for (Socket s : sockets) {
        s.close();
      }
    }
  }
}
