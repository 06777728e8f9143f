package dev.grpclean.transport;

import dev.grpclean.transport.io.EventLoop;
import java.util.ArrayList;

/**
 * Server calls whose END_STREAM (trailers) the writer framed during a flush: grpc-core learns they
 * are complete ({@link LeanServerStream.State#complete}, which hands {@code closed} to the
 * application's executor) once the flush has written its buffer, at the end of the loop's batch,
 * not while the buffer is still being filled. Handing {@code closed} to an executor wakes one of
 * its threads, which on a busy machine often takes the loop's CPU at once; woken in the middle of
 * a fill, every call framed after it, and the write itself, waited for that thread. Done after
 * the write, the responses are on the wire first. The stream leaves the connection when it is
 * framed, as before; only the notification moves, and it still comes in the same loop turn. A
 * call completed outside a flush is completed at once.
 *
 * <p>Confined to the connection's loop thread.
 */
final class CompletionsAfterWrite {
  private final EventLoop loop;
  private final LoopyWriter writer;
  private final StreamBridge.LoopFailures failures;
  /** Calls to complete after the running flush; empty unless a flush framed an END_STREAM. */
  private ArrayList<LeanServerStream.State> pending = new ArrayList<>();
  /** The list being completed now (swapped with {@link #pending}, so completing may add). */
  private ArrayList<LeanServerStream.State> running = new ArrayList<>();
  private final Runnable completeAll = this::completeAll;

  CompletionsAfterWrite(EventLoop loop, LoopyWriter writer, StreamBridge.LoopFailures failures) {
    this.loop = loop;
    this.writer = writer;
    this.failures = failures;
  }

  /** Completes {@code s} now, or after the running flush's write if the writer is flushing. */
  void complete(LeanServerStream.State s) {
    if (!writer.isFlushing()) {
      s.complete();
      return;
    }
    if (pending.isEmpty()) {
      loop.runAtEndOfBatch(completeAll);
    }
    pending.add(s);
  }

  /**
   * Completes every call framed by the flush that ran; a throwable from one (a bug: grpc-core's
   * listener guards the application's) fails the connection, as it did when thrown inside the
   * flush, and the rest are still completed.
   */
  private void completeAll() {
    ArrayList<LeanServerStream.State> calls = pending;
    pending = running;
    running = calls;
    try {
      for (int i = 0; i < calls.size(); i++) {
        try {
          calls.get(i).complete();
        } catch (Throwable t) {
          failures.onLoopFailure(t);
        }
      }
    } finally {
      calls.clear();
    }
  }
}
