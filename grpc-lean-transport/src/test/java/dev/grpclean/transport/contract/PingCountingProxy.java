package dev.grpclean.transport.contract;

import dev.grpclean.transport.testing.LoopbackRelays;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A plaintext TCP proxy in front of an HTTP/2 server that counts the PING frames passing each way,
 * so a keepalive test can wait for pings to happen instead of waiting for time to pass. It only
 * parses frame headers (RFC 9113 §4.1) and forwards every byte unchanged.
 *
 * <p>Thread-safe. Each proxied connection uses two blocking pump threads; fine for a test.
 */
public final class PingCountingProxy implements Closeable {
  /** RFC 9113 §3.4: the client connection preface, which precedes the client's first frame. */
  private static final int CLIENT_PREFACE_BYTES = 24;

  /** RFC 9113 §4.1: length (24 bits), type, flags, stream identifier (32 bits). */
  private static final int FRAME_HEADER_BYTES = 9;

  /** RFC 9113 §6.7. */
  private static final int TYPE_PING = 0x6;

  private static final int FLAG_ACK = 0x1;

  private final int targetPort;
  private final ServerSocket listener;
  private final List<Closeable> sockets = new CopyOnWriteArrayList<>();
  private int connections; // @GuardedBy("this")
  private int clientPings; // @GuardedBy("this")
  private int serverPingAcks; // @GuardedBy("this")

  /** Starts listening on a free loopback port and forwards connections to {@code targetPort}. */
  public PingCountingProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::acceptLoop, "ping-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public int port() {
    return listener.getLocalPort();
  }

  public synchronized int connections() {
    return connections;
  }

  /** PING frames without ACK sent by clients. */
  public synchronized int clientPings() {
    return clientPings;
  }

  /** PING frames with ACK sent by the server. */
  public synchronized int serverPingAcks() {
    return serverPingAcks;
  }

  /** Waits until clients have sent {@code pings} PINGs and the server acknowledged as many. */
  public synchronized void awaitPingsAcked(int pings, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (clientPings < pings || serverPingAcks < pings) {
      long leftMillis = Duration.ofNanos(deadline - System.nanoTime()).toMillis();
      if (leftMillis <= 0) {
        throw new AssertionError(
            "after "
                + timeout
                + ": "
                + clientPings
                + " pings, "
                + serverPingAcks
                + " acks, wanted "
                + pings);
      }
      wait(leftMillis);
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
    for (Closeable socket : sockets) {
      socket.close();
    }
  }

  private void acceptLoop() {
    try {
      while (true) {
        LoopbackRelays.Connection c =
            LoopbackRelays.acceptAndConnect(listener, targetPort, sockets);
        synchronized (this) {
          connections++;
        }
        pump(c.client(), c.server(), true);
        pump(c.server(), c.client(), false);
      }
    } catch (IOException e) {
      // Closed: the test is over.
    }
  }

  private void pump(Socket from, Socket to, boolean fromClient) {
    Thread thread =
        new Thread(
            () -> {
              FrameScanner scanner = new FrameScanner(fromClient);
              byte[] buffer = new byte[16 * 1024];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                int read;
                while ((read = in.read(buffer)) != -1) {
                  scanner.scan(buffer, read);
                  out.write(buffer, 0, read);
                  out.flush();
                }
              } catch (IOException e) {
                // Either side closed; close the other so the peer sees it too.
              } finally {
                closeQuietly(from);
                closeQuietly(to);
              }
            },
            fromClient ? "ping-proxy-c2s" : "ping-proxy-s2c");
    thread.setDaemon(true);
    thread.start();
  }

  private synchronized void onPing(boolean fromClient, boolean ack) {
    if (fromClient && !ack) {
      clientPings++;
    } else if (!fromClient && ack) {
      serverPingAcks++;
    }
    notifyAll();
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // Nothing more to do.
    }
  }

  /** Tracks frame boundaries in one direction's byte stream. Confined to its pump thread. */
  private final class FrameScanner {
    private final boolean fromClient;
    private final byte[] header = new byte[FRAME_HEADER_BYTES];
    private long prefaceLeft;
    private int headerFilled;
    private long payloadLeft;

    FrameScanner(boolean fromClient) {
      this.fromClient = fromClient;
      this.prefaceLeft = fromClient ? CLIENT_PREFACE_BYTES : 0;
    }

    void scan(byte[] bytes, int length) {
      int i = 0;
      while (i < length) {
        if (prefaceLeft > 0) {
          int skip = (int) Math.min(prefaceLeft, length - i);
          prefaceLeft -= skip;
          i += skip;
        } else if (payloadLeft > 0) {
          int skip = (int) Math.min(payloadLeft, length - i);
          payloadLeft -= skip;
          i += skip;
        } else {
          header[headerFilled++] = bytes[i++];
          if (headerFilled == FRAME_HEADER_BYTES) {
            headerFilled = 0;
            payloadLeft =
                ((header[0] & 0xffL) << 16) | ((header[1] & 0xffL) << 8) | (header[2] & 0xffL);
            if ((header[3] & 0xff) == TYPE_PING) {
              onPing(fromClient, (header[4] & FLAG_ACK) != 0);
            }
          }
        }
      }
    }
  }
}
