package dev.grpclean.transport;

import java.util.ArrayDeque;
import javax.annotation.Nullable;

/**
 * A client transport's streams waiting for the connection or for a stream slot, oldest first.
 * The queue itself exists only while a stream waits (made on first use, dropped once empty):
 * most connections never queue one, and an idle one keeps no empty queue.
 *
 * <p>Confined to the transport's loop thread.
 */
final class PendingStreams {
  @Nullable private ArrayDeque<LeanClientStream.State> queue;

  void add(LeanClientStream.State state) {
    queue().add(state);
  }

  /** Ahead of every other waiting stream (one that could not get an id on this connection). */
  void addFirst(LeanClientStream.State state) {
    queue().addFirst(state);
  }

  int size() {
    return queue == null ? 0 : queue.size();
  }

  /** The oldest waiting stream, or null. */
  @Nullable
  LeanClientStream.State poll() {
    if (queue == null) {
      return null;
    }
    LeanClientStream.State s = queue.poll();
    dropIfEmpty();
    return s;
  }

  /** Whether {@code state} was waiting (and no longer is). */
  boolean remove(LeanClientStream.State state) {
    if (queue == null || !queue.remove(state)) {
      return false;
    }
    dropIfEmpty();
    return true;
  }

  private ArrayDeque<LeanClientStream.State> queue() {
    if (queue == null) {
      queue = new ArrayDeque<>(2);
    }
    return queue;
  }

  private void dropIfEmpty() {
    if (queue.isEmpty()) {
      queue = null;
    }
  }
}
