package dev.grpclean.bench.attack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The attacker's side of one attack: one selector, every {@link RawConnection} opened to the
 * server, and the poll loop that moves their bytes. The clock of every {@link ServerAnswer}
 * starts when the wire is made.
 *
 * <p>Confined to the attacking thread.
 */
final class Wire implements AutoCloseable {
  private final InetSocketAddress server;
  private final Selector selector;
  final long startNanos = System.nanoTime();
  private final List<RawConnection> connections = new ArrayList<>();

  Wire(InetSocketAddress server) {
    this.server = server;
    try {
      this.selector = Selector.open();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  long elapsedMillis() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  /**
   * A new connection, its connect under way (or already closed, as REFUSED, if it could not
   * even start); the poll loop completes it.
   */
  RawConnection connect() {
    RawConnection c = RawConnection.open(server, selector, startNanos);
    connections.add(c);
    return c;
  }

  List<RawConnection> connections() {
    return Collections.unmodifiableList(connections);
  }

  /** Every connection's answer, in the order they were opened. */
  List<ServerAnswer> answers() {
    List<ServerAnswer> answers = new ArrayList<>();
    for (RawConnection c : connections) {
      answers.add(c.answer);
    }
    return answers;
  }

  /**
   * Waits up to {@code millis} (0: not at all) for a socket to be ready, then writes and reads
   * what the ready ones allow.
   */
  void poll(long millis) {
    try {
      int ready = millis <= 0 ? selector.selectNow() : selector.select(millis);
      if (ready == 0) {
        return;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Iterator<SelectionKey> it = selector.selectedKeys().iterator();
    while (it.hasNext()) {
      SelectionKey key = it.next();
      it.remove();
      RawConnection c = (RawConnection) key.attachment();
      if (key.isValid() && key.isConnectable()) {
        c.finishConnect();
      }
      if (key.isValid() && key.isWritable()) {
        c.flush();
      }
      if (key.isValid() && key.isReadable()) {
        c.readAvailable();
      }
    }
  }

  /** Polls until {@code done} or the deadline; returns whether done. */
  boolean pollUntil(BooleanSupplier done, long deadlineNanos) {
    while (!done.getAsBoolean()) {
      long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
      if (left <= 0) {
        return done.getAsBoolean();
      }
      poll(Math.min(left, 100));
    }
    return true;
  }

  /** Whether every connection is connected or has ended. */
  boolean allConnected() {
    for (RawConnection c : connections) {
      if (!c.connected() && !c.closed()) {
        return false;
      }
    }
    return true;
  }

  /** Whether every connection has ended. */
  boolean allClosed() {
    for (RawConnection c : connections) {
      if (!c.closed()) {
        return false;
      }
    }
    return true;
  }

  /** Closes every connection and the selector. */
  @Override
  public void close() {
    for (RawConnection c : connections) {
      c.close();
    }
    try {
      selector.close();
    } catch (IOException e) {
      // Closing anyway.
    }
  }
}
