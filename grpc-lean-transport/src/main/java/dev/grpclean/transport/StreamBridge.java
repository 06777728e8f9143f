package dev.grpclean.transport;

import dev.grpclean.transport.io.EventLoop;
import io.grpc.internal.WritableBuffer;
import java.nio.ByteBuffer;
import java.util.concurrent.RejectedExecutionException;
import javax.annotation.Nullable;

/**
 * What a client and a server stream do alike between grpc-core and the connection's loop:
 * taking a framed message out of grpc-core's buffer, handing each operation to the loop with the
 * one guard that turns a throwable escaping it into a connection failure, and returning consumed
 * bytes to the flow-control windows.
 * {@link LeanClientStream} and {@link LeanServerStream} extend different grpc-core classes, so
 * they share this by delegation, not by a common base; their policies stay with them (what a
 * stopped loop means for the call, see their {@code runOnTransportThread}).
 *
 * <p>Stateless; each method says which thread calls it.
 */
final class StreamBridge {
  private StreamBridge() {}

  /**
   * Application thread, from the sink's {@code writeFrame}: takes the framed bytes out of
   * {@code frame}; the caller owns them from here on. Null when there is no frame or the
   * stream's framer buffer was already disowned (the stream is gone, nothing to send).
   */
  @Nullable
  static ByteBuffer takeFrame(@Nullable WritableBuffer frame) {
    return frame == null ? null : ((LeanWritableBuffer) frame).detach();
  }

  /** The bytes grpc-core is told are being sent ({@code onSendingBytes}): 0 for no payload. */
  static int sendingBytes(@Nullable ByteBuffer data) {
    return data == null ? 0 : data.remaining();
  }

  /**
   * Where a throwable escaping a stream operation on the loop thread goes: the connection fails
   * as a whole, at once ({@link Http2Connection#onLoopFailure}). Loop thread.
   */
  interface LoopFailures {
    void onLoopFailure(Throwable t);
  }

  /**
   * Any thread: runs the stream operation {@code task} on {@code loop}. A throwable escaping it
   * there goes to {@code failures} rather than to the loop's catch-all, which would only log it
   * and leave the connection in an unknown state: this is the guard of every stream operation.
   * Returns false if the loop has stopped (the task will never run): the caller decides what that
   * means for its call and releases what the task would have taken.
   */
  static boolean runOnLoop(EventLoop loop, Runnable task, LoopFailures failures) {
    try {
      loop.execute(() -> {
        try {
          task.run();
        } catch (Throwable t) {
          failures.onLoopFailure(t);
        }
      });
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  /**
   * Loop thread, from grpc-core's {@code bytesRead}: the application consumed {@code bytes} of
   * {@code stream}, which go back to the stream and connection receive windows. Nothing to do
   * without a connection (a client stream whose transport never connected).
   */
  static void bytesRead(@Nullable Http2Connection connection, H2Stream stream, int bytes) {
    if (connection != null) {
      StreamRules.onBytesConsumed(connection, stream, bytes);
    }
  }
}
