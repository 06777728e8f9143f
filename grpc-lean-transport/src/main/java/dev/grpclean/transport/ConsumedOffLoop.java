package dev.grpclean.transport;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Returns to the flow-control windows the bytes a server stream's deframer consumed on an
 * application thread (grpc-core's {@code bytesRead} from a {@code request(n)} run off the loop,
 * see {@link LeanServerStream.State#runOnTransportThread}). The windows are connection state, so
 * the bytes go to the loop: each stream accumulates them, and the connection has at most one
 * loop task pending that returns every stream's bytes, so many calls consuming at once share a
 * task. A task is posted whenever bytes wait and none is pending, so a window the peer waits on
 * is returned as soon as the loop runs, busy or idle.
 *
 * <p>Thread-safe: {@link #add} from any thread; the drain runs on the connection's loop.
 */
final class ConsumedOffLoop {
  private final ServerConnection connection;
  private final ConcurrentLinkedQueue<LeanServerStream.State> waiting =
      new ConcurrentLinkedQueue<>();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final Runnable drain = this::drain;

  ConsumedOffLoop(ServerConnection connection) {
    this.connection = connection;
  }

  /** Any thread: {@code stream} consumed {@code bytes} more, held in {@code pending}. */
  void add(LeanServerStream.State stream, AtomicInteger pending, int bytes) {
    if (pending.getAndAdd(bytes) == 0) {
      waiting.add(stream);
    }
    // After the stream is queued: a drain that already cleared the flag polls it, or this
    // posts a new one.
    if (scheduled.compareAndSet(false, true)) {
      // Dropped once the loop stopped: the connection and its windows are gone with it.
      StreamBridge.runOnLoop(connection.loop, drain, connection);
    }
  }

  /** Loop thread. */
  private void drain() {
    scheduled.set(false);
    LeanServerStream.State s;
    while ((s = waiting.poll()) != null) {
      int bytes = s.takeConsumedOffLoop();
      if (bytes > 0) {
        StreamBridge.bytesRead(connection, s, bytes);
      }
    }
  }
}
