package dev.grpclean.transport;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import javax.annotation.Nullable;

/**
 * A stream's outbound operations on their way from the application thread that writes them to
 * the connection's loop: response headers, framer buffers and trailers wait here and go to the
 * loop together, in one task, instead of one task per buffer. The task is this object itself and
 * at most one is queued at a time, so handing a buffer over allocates nothing (before, each
 * buffer cost a task object, a guard, a loop-queue node and a capture of the buffer).
 *
 * <p>When the loop gets the work: at once for a write that asks for a flush, and for trailers;
 * once {@link #HANDOFF_BYTES} are waiting, so a large message streams while grpc-core frames it;
 * otherwise with the stream's next write that goes (a unary response's message waits for its
 * trailers, as its flush would anyway). A write while a task is queued joins that task.
 *
 * <p>Buffers are pool leases charged to {@code budget}; this object owns them while they wait.
 * Every lease leaves exactly one way: to the loop ({@link #sendData} there takes it), or back to its
 * pool with its charge when the stream is gone ({@link #close}, from the loop when the stream
 * leaves its connection, after which a later write releases its buffer at once) or the loop has
 * stopped. Without {@link #close} a buffer waiting here would be lost when the stream finishes
 * before its next write.
 *
 * <p>Thread-safe: the {@code offer} methods run on the writing thread (grpc-core makes a
 * stream's writes from one thread at a time), {@link #run} and {@link #close} on the loop; the
 * two sides meet under this object's lock, held for a few field writes only, never while calling
 * out.
 */
abstract class OutboundHandOff implements Runnable {
  /**
   * Bytes that wait for a flush, or for the next write that goes, before they go without one:
   * four 16 KiB framer buffers. Large enough that a large message costs one loop task per 64
   * KiB, small enough that the loop starts sending it long before it is all framed.
   */
  static final int HANDOFF_BYTES = 64 * 1024;

  private final Executor loop;
  @Nullable private final LeanMemoryBudget budget;

  @GuardedBy("this") @Nullable private ByteBuffer[] pending;
  @GuardedBy("this") private int pendingCount;
  @GuardedBy("this") private int pendingBytes;
  /** The array the loop emptied last, reused as {@link #pending} once that is taken. */
  @GuardedBy("this") @Nullable private ByteBuffer[] spare;
  @GuardedBy("this") private int pendingMessages;
  @GuardedBy("this") @Nullable private Http2Headers headers;
  @GuardedBy("this") @Nullable private Http2Headers trailers;
  @GuardedBy("this") private boolean flushAsked;
  /** This task is in the loop's queue and has not taken the pending work yet. */
  @GuardedBy("this") private boolean queued;
  @GuardedBy("this") private boolean closed;

  /**
   * @param loop runs {@link #run}; throws {@link RejectedExecutionException} once stopped
   * @param budget what each handed buffer was charged to, or null
   */
  OutboundHandOff(Executor loop, @Nullable LeanMemoryBudget budget) {
    this.loop = loop;
    this.budget = budget;
  }

  // ------------------------------------------------------------ loop side, called by run()

  /** Loop thread: response headers, before any data of this task; no flush of their own. */
  abstract void sendHeaders(Http2Headers headers);

  /** Loop thread: takes ownership of {@code chunk}; {@code numMessages} it completes (summed). */
  abstract void sendData(ByteBuffer chunk, int numMessages);

  /** Loop thread: trailers, after this task's data; they flush. */
  abstract void sendTrailers(Http2Headers trailers);

  /** Loop thread: a write of this task asked for a flush. */
  abstract void requestFlush();

  /** Loop thread: a throwable escaped one of the above; the connection fails. */
  abstract void onLoopFailure(Throwable t);

  // ------------------------------------------------------------ writing thread

  /** Response headers; with {@code flush} they go now, else with the next write that goes. */
  final void offerHeaders(Http2Headers h, boolean flush) {
    boolean submit;
    synchronized (this) {
      if (closed) {
        return;
      }
      headers = h;
      flushAsked |= flush;
      submit = flush && queue();
    }
    if (submit) {
      submit();
    }
  }

  /**
   * Takes ownership of {@code chunk} (charged to the budget). {@code flush}: the loop flushes
   * once it has the chunk; {@code now}: it gets the chunk now rather than in a later task.
   */
  final void offerData(ByteBuffer chunk, int numMessages, boolean flush, boolean now) {
    boolean submit;
    synchronized (this) {
      if (!closed) {
        ByteBuffer[] p = pending;
        if (p == null) {
          p = spare != null ? spare : new ByteBuffer[4];
          spare = null;
          pending = p;
        } else if (pendingCount == p.length) {
          p = java.util.Arrays.copyOf(p, pendingCount * 2);
          pending = p;
        }
        p[pendingCount++] = chunk;
        pendingBytes += chunk.remaining();
        pendingMessages += numMessages;
        flushAsked |= flush;
        submit = (now || pendingBytes >= HANDOFF_BYTES) && queue();
        chunk = null;
      } else {
        submit = false;
      }
    }
    if (chunk != null) {
      // The stream is gone: nobody sends these bytes.
      OutboundStream.releaseChunk(chunk, budget);
    }
    if (submit) {
      submit();
    }
  }

  /** Trailers: go now, after everything offered before. */
  final void offerTrailers(Http2Headers t) {
    boolean submit;
    synchronized (this) {
      if (closed) {
        return;
      }
      trailers = t;
      submit = queue();
    }
    if (submit) {
      submit();
    }
  }

  /**
   * Whatever waits goes to the loop now (before an operation the caller queues next, which must
   * follow it). Writing thread.
   */
  final void offerNow() {
    boolean submit;
    synchronized (this) {
      submit = !closed && (pendingCount > 0 || headers != null) && queue();
    }
    if (submit) {
      submit();
    }
  }

  /** Whether this task should be queued now: true once until it runs. */
  @GuardedBy("this")
  private boolean queue() {
    if (queued) {
      return false;
    }
    queued = true;
    return true;
  }

  private void submit() {
    try {
      loop.execute(this);
    } catch (RejectedExecutionException e) {
      // The loop stopped and took the connection with it: nothing will send these.
      close();
    }
  }

  // ------------------------------------------------------------ loop thread

  /** Loop thread: hands what waits to the stream's loop-side state, in order. */
  @Override
  public final void run() {
    ByteBuffer[] taken;
    int count;
    int messages;
    Http2Headers h;
    Http2Headers t;
    boolean f;
    synchronized (this) {
      queued = false;
      if (closed) {
        return;
      }
      taken = pending;
      count = pendingCount;
      pending = null;
      pendingCount = 0;
      pendingBytes = 0;
      messages = pendingMessages;
      pendingMessages = 0;
      h = headers;
      headers = null;
      t = trailers;
      trailers = null;
      f = flushAsked;
      flushAsked = false;
    }
    int next = 0;
    try {
      if (h != null) {
        sendHeaders(h);
      }
      while (next < count) {
        ByteBuffer chunk = taken[next];
        taken[next] = null;
        sendData(chunk, next++ == 0 ? messages : 0);
      }
      if (t != null) {
        sendTrailers(t);
      }
      if (f) {
        requestFlush();
      }
    } catch (Throwable e) {
      // The chunk being handed over belongs to sendData() already; the rest go back.
      for (; next < count; next++) {
        OutboundStream.releaseChunk(taken[next], budget);
        taken[next] = null;
      }
      onLoopFailure(e);
    }
    if (taken != null) {
      synchronized (this) {
        if (spare == null) {
          spare = taken;
        }
      }
    }
  }

  /**
   * Loop thread (or a writer that found the loop stopped): the stream is gone; what waits goes
   * back to its pool, and later writes release their buffers at once. Idempotent.
   */
  final void close() {
    ByteBuffer[] drop;
    int count;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      drop = pending;
      count = pendingCount;
      pending = null;
      spare = null;
      pendingCount = 0;
      pendingBytes = 0;
      headers = null;
      trailers = null;
    }
    for (int i = 0; i < count; i++) {
      OutboundStream.releaseChunk(drop[i], budget);
    }
  }

  /** Buffers waiting for the loop (tests). */
  final synchronized int pendingCount() {
    return pendingCount;
  }
}
