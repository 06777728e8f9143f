package dev.grpclean.transport.testing;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * A loopback TCP relay that delays every byte by the same time in each direction, as a long path
 * would: whatever the load on the machine, a round trip through it takes at least twice the delay,
 * so a test can set a bandwidth-delay product instead of hoping for one. The delay is a pipeline,
 * not a pause: a chunk is written once its delay has passed while the chunks after it are read,
 * so bytes keep flowing at loopback speed and only arrive later.
 *
 * <p>What is in flight is held in memory without a bound; the peers' flow control bounds it (the
 * tests using it run tiny windows).
 *
 * <p>Thread-safe. Each relayed connection has a reading and a writing thread per direction; every
 * thread is a daemon and ends when {@link #close} closes the sockets.
 */
public final class DelayRelay implements Closeable {
  /** A chunk read at {@code dueNanos - delay}, to be written at {@code dueNanos}. */
  private record Chunk(long dueNanos, byte[] bytes) {}

  /** Marks the end of a direction's input: the write side is shut down after what came before. */
  private static final Chunk END = new Chunk(0, new byte[0]);

  private final int targetPort;
  private final long delayNanos;
  private final ServerSocket listener;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();

  /**
   * Listens on a free loopback port and relays each connection to {@code targetPort} on loopback,
   * every byte delayed by {@code oneWayDelay} each way.
   */
  public DelayRelay(int targetPort, Duration oneWayDelay) throws IOException {
    this.targetPort = targetPort;
    this.delayNanos = oneWayDelay.toNanos();
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    start("delay-relay-accept", this::acceptLoop);
  }

  public int port() {
    return listener.getLocalPort();
  }

  @Override
  public void close() throws IOException {
    listener.close();
    for (Socket socket : sockets) {
      closeQuietly(socket);
    }
    for (Thread thread : threads) {
      thread.interrupt(); // a writer waiting for its next chunk
    }
  }

  private void acceptLoop() {
    try {
      while (true) {
        LoopbackRelays.Connection c =
            LoopbackRelays.acceptAndConnect(listener, targetPort, sockets);
        relay(c.client(), c.server(), "delay-relay-c2s");
        relay(c.server(), c.client(), "delay-relay-s2c");
      }
    } catch (IOException e) {
      // The listener closed: the test is over.
    }
  }

  /** Moves the bytes {@code from} reads to {@code to}, each one {@link #delayNanos} later. */
  private void relay(Socket from, Socket to, String name) {
    BlockingQueue<Chunk> inFlight = new LinkedBlockingQueue<>();
    start(name + "-read", () -> {
      byte[] buffer = new byte[64 * 1024];
      try (InputStream in = from.getInputStream()) {
        int n;
        while ((n = in.read(buffer)) != -1) {
          inFlight.add(new Chunk(System.nanoTime() + delayNanos, Arrays.copyOf(buffer, n)));
        }
        inFlight.add(END);
      } catch (IOException e) {
        closeQuietly(from);
        closeQuietly(to);
      }
    });
    start(name + "-write", () -> {
      try {
        OutputStream out = to.getOutputStream();
        while (true) {
          Chunk chunk = inFlight.take();
          if (chunk == END) {
            to.shutdownOutput();
            return;
          }
          // The path's delay itself, not a wait for another thread: the chunk is due later.
          long left;
          while ((left = chunk.dueNanos - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
            if (Thread.currentThread().isInterrupted()) {
              return;
            }
          }
          out.write(chunk.bytes);
        }
      } catch (IOException | InterruptedException e) {
        // Either side closed (or the relay did): close the other so its peer sees it too.
        closeQuietly(from);
        closeQuietly(to);
      }
    });
  }

  private void start(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    threads.add(thread);
    thread.start();
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // Nothing more to do.
    }
  }
}
