package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2ConnectionError;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * How one {@link Http2Connection} goes away: the final GOAWAY and close (for the side's shutdown
 * as for errors), and what each kind of failure turns into: a connection error (GOAWAY with its
 * code, RFC 9113 §5.4.1), an I/O failure (a bare close), a throwable escaping transport code on
 * the loop thread (GOAWAY INTERNAL_ERROR, then close at once). The close itself, which releases
 * every lease and tells every stream, is {@link Http2Connection#closeNow}.
 *
 * <p>A graceful close (GOAWAY NO_ERROR with no stream left) whose bytes the socket does not take
 * at once <em>drains</em>: the connection stays open, still reading (WINDOW_UPDATEs, acks; no new
 * stream is accepted), until the writer has handed everything to the socket, then closes; at most
 * {@link #DRAIN_TIMEOUT_NANOS}, then it closes anyway. Error closes never wait.
 *
 * <p>Confined to the connection's loop thread.
 */
final class ConnectionClosing {
  private static final Logger log = Logger.getLogger(ConnectionClosing.class.getName());

  private final Http2Connection conn;
  /**
   * A close requested from inside a writer callback (e.g. the last stream finished while its
   * trailers were being framed). It runs once the flush returns, so those frames go out first.
   */
  private Runnable deferredClose;

  /** How long a graceful close waits for the socket to take its last bytes before closing. */
  static final long DRAIN_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
  /** While draining: the status the close will report; null otherwise. */
  @javax.annotation.Nullable private Status drainStatus;
  /** While draining: the {@link #DRAIN_TIMEOUT_NANOS} timer. */
  @javax.annotation.Nullable private ScheduledFuture<?> drainTimer;

  ConnectionClosing(Http2Connection conn) {
    this.conn = conn;
  }

  /** A connection error: GOAWAY with its code, then close (§5.4.1). */
  void onConnectionError(Http2ConnectionError e) {
    if (conn.closed) {
      return;
    }
    log.log(Level.FINE, "connection error " + e.code() + " on " + conn, e);
    Status status = statusForConnectionError(e);
    sendGoAwayAndClose(e.code(), e.getMessage(), status);
  }

  static Status statusForConnectionError(Http2ConnectionError e) {
    Status status = e.code() == ErrorCode.NO_ERROR
        ? Status.UNAVAILABLE
        : io.grpc.internal.GrpcUtil.Http2Error.statusForCode(e.code().code());
    return status.withDescription("HTTP/2 connection error " + e.code() + ": " + e.getMessage())
        .withCause(e.getCause());
  }

  /**
   * Writes a final GOAWAY and closes the socket. An error GOAWAY is best effort (one write, then
   * close); a NO_ERROR one with no stream left waits for the socket to take every byte queued
   * before it (draining, see the class comment), as the peer's last responses are among them.
   */
  void sendGoAwayAndClose(ErrorCode code, String debug, Status status) {
    if (conn.closed) {
      return;
    }
    if (drainStatus != null) {
      // Our final GOAWAY is queued already: a graceful request waits with it, an error does not.
      if (code != ErrorCode.NO_ERROR) {
        conn.closeNow(status);
      }
      return;
    }
    if (!conn.http2Ready) {
      // Before (or during) the security handshake no HTTP/2 frame may be sent: a bare close.
      conn.closeNow(status);
      return;
    }
    LoopyWriter writer = conn.writer;
    if (writer.isFlushing()) {
      if (deferredClose == null) {
        deferredClose = () -> sendGoAwayAndClose(code, debug, status);
        conn.loop.runAtEndOfBatch(this::runDeferredClose);
      }
      return;
    }
    byte[] debugData = debug == null ? new byte[0] : debug.getBytes(StandardCharsets.UTF_8);
    if (debugData.length > 256) {
      debugData = java.util.Arrays.copyOf(debugData, 256);
    }
    // GOAWAY is not a capped response: the queue always takes it.
    conn.sendControl(new ControlFrame.GoAway(conn.lastPeerStreamId(), code, debugData));
    try {
      writer.flush();
      if (writer.isBlocked() && code == ErrorCode.NO_ERROR && conn.streams.isEmpty()) {
        startDraining(status);
        return;
      }
      if (!writer.isBlocked()) {
        conn.socket.sendCloseNotifyIfDrained();
      }
    } catch (IOException ignored) {
      // Closing anyway.
    }
    conn.closeNow(status);
  }

  /** Whether a graceful close waits for the socket: no new stream may open. */
  boolean isDraining() {
    return drainStatus != null && !conn.closed;
  }

  private void startDraining(Status status) {
    drainStatus = status;
    // A loop that stopped closed its connections on its way out: nothing left to time out.
    drainTimer = conn.scheduler().schedule(() -> conn.loop.executeOrDrop(this::onDrainTimeout),
        DRAIN_TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
  }

  /**
   * The socket became writable: the writer resumes, and a draining connection whose writer has
   * handed everything to the socket closes now (after the record layer's close_notify).
   */
  void onWritable() throws IOException {
    conn.writer.onWritable();
    if (isDraining() && !conn.writer.isBlocked()) {
      cancelDrainTimer();
      conn.socket.sendCloseNotifyIfDrained();
      conn.closeNow(drainStatus);
    }
  }

  private void onDrainTimeout() {
    drainTimer = null;
    if (conn.closed) {
      return;
    }
    log.log(Level.FINE, "graceful close of {0} did not drain in time; closing", conn);
    conn.closeNow(drainStatus);
  }

  /** Cancels the drain timer, if any (the connection closed, drained or not). */
  void cancelDrainTimer() {
    if (drainTimer != null) {
      drainTimer.cancel(false);
      drainTimer = null;
    }
  }

  private void runDeferredClose() {
    Runnable r = deferredClose;
    deferredClose = null;
    if (r != null && !conn.closed) {
      try {
        r.run();
      } catch (Throwable t) {
        onLoopFailure(t);
      }
    }
  }

  void onIoFailure(IOException e) {
    if (conn.closed) {
      return;
    }
    log.log(Level.FINE, "I/O failure on " + conn, e);
    conn.closeNow(SecureSocket.ioFailure(e));
  }

  /**
   * A throwable the transport did not expect escaped its code on the loop thread: a bug, a
   * {@link LinkageError} from a mismatched library (e.g. an older Netty on the class path), a
   * {@link StackOverflowError}... The connection's state is unknown from here, so it fails as a
   * whole and at once (a GOAWAY if HTTP/2 is up and can still be written, then close): its
   * streams end INTERNAL naming the throwable instead of waiting for their deadlines, its leases
   * return, and the loop thread goes on serving its other connections. A
   * {@link VirtualMachineError} is logged SEVERE like the rest, never swallowed silently.
   */
  void onLoopFailure(Throwable t) {
    log.log(Level.SEVERE, "transport failure on " + conn + "; closing the connection", t);
    if (conn.closed) {
      return;
    }
    Status status = Status.INTERNAL
        .withDescription("transport failure on the connection's loop thread: " + t)
        .withCause(t);
    try {
      sendGoAwayAndClose(ErrorCode.INTERNAL_ERROR, t.toString(), status);
    } catch (Throwable again) {
      // The GOAWAY's write path is what failed (e.g. the header encoder): a bare close. Not
      // added as suppressed: the JVM may throw one preallocated instance twice.
      log.log(Level.FINE, "no GOAWAY after the transport failure on " + conn, again);
    }
    // sendGoAwayAndClose may defer while the writer is flushing; a broken connection does not
    // wait for that.
    conn.closeNow(status);
  }
}
