package dev.grpclean.transport;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import javax.annotation.Nullable;

/**
 * What the client stream of a call that sends one message (unary, server streaming) holds back
 * until its request is whole, so that the request reaches the loop as one task: grpc-core's
 * transport-thread work (its deframer's {@code request(n)}, which a unary call makes between
 * start and its message) and the message's buffer, which grpc-core hands over with a flush of
 * its own before the half-close (the retry buffer flushes after every message). Together with
 * the request headers the sink already holds, a unary request was three loop tasks, each able to
 * wake the loop and end a batch early; now it is one.
 *
 * <p>Holding is safe because nothing can arrive for the call before its headers leave: the
 * deframer has nothing to deliver meanwhile, and a held message could not be sent ahead of its
 * headers anyway. Holding ends ({@link #release}) with the call's next write that goes to the
 * loop (its END_STREAM), its cancellation, or the transport finishing with the stream; after
 * that, work goes to the loop at once.
 *
 * <p>The held buffer is an outbound lease charged to the stream's budget: it leaves exactly one
 * way, in the task of the write that releases it, or back to its pool ({@link
 * Released#releaseData}) when the call is cancelled, failed, or the loop has stopped.
 *
 * <p>Thread-safe: {@code request(n)} may come from any thread, the writes from the writing
 * thread, the transport's end of the stream from the loop; they meet under this object's
 * monitor, held for a few field writes only, never while calling out.
 */
final class HeldRequest {
  @GuardedBy("this") @Nullable private Runnable work;
  @GuardedBy("this") @Nullable private ArrayList<Runnable> moreWork;
  @GuardedBy("this") @Nullable private ByteBuffer data;
  @GuardedBy("this") private int dataMessages;
  @GuardedBy("this") private boolean released;

  /** Any thread: holds grpc-core's transport work {@code r}; false when it must go now. */
  synchronized boolean holdWork(Runnable r) {
    if (released) {
      return false;
    }
    if (work == null) {
      work = r;
    } else {
      if (moreWork == null) {
        moreWork = new ArrayList<>(2);
      }
      moreWork.add(r);
    }
    return true;
  }

  /**
   * Writing thread: holds {@code chunk} (taking ownership) and the {@code numMessages} it
   * completes; false when it must go now (holding ended, or a buffer is held already).
   */
  synchronized boolean holdData(ByteBuffer chunk, int numMessages) {
    if (released || data != null) {
      return false;
    }
    data = chunk;
    dataMessages = numMessages;
    return true;
  }

  /** Ends holding; returns what was held, the caller's from now on, or null if nothing was. */
  @Nullable
  synchronized Released release() {
    released = true;
    if (work == null && data == null) {
      return null;
    }
    Released r = new Released(work, moreWork, data, dataMessages);
    work = null;
    moreWork = null;
    data = null;
    return r;
  }

  /** What {@link #release} handed over. Immutable; its buffer has one owner, the caller. */
  record Released(@Nullable Runnable work, @Nullable ArrayList<Runnable> moreWork,
      @Nullable ByteBuffer data, int dataMessages) {
    /** Runs the held transport work in the order it came, each through {@code runner}. */
    void runWork(java.util.function.Consumer<Runnable> runner) {
      if (work != null) {
        runner.accept(work);
      }
      if (moreWork != null) {
        for (Runnable r : moreWork) {
          runner.accept(r);
        }
      }
    }

    /** The held buffer goes back to its pool with its budget charge (the call is not sent). */
    void releaseData(@Nullable LeanMemoryBudget budget) {
      if (data != null) {
        OutboundStream.releaseChunk(data, budget);
      }
    }
  }
}
