package dev.grpclean.transport.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One poller thread: a {@link Selector} that reports readiness, plus a task queue for work other
 * threads hand to the connections this thread owns.
 *
 * <p>The loop holds no I/O buffers. A connection registered here is owned by this thread for its
 * whole life, so every frame of that connection is read and parsed in order by one thread, and the
 * connection's protocol state needs no lock.
 *
 * <p>One iteration: wait for readiness or a task; dispatch ready keys; run queued tasks; yield the
 * thread once if there is something to flush, running what other threads queued meanwhile
 * ({@link #YIELDS_BEFORE_FLUSH}); then run the end-of-batch actions (connections flush their
 * writers there, so all writes produced in one batch leave in as few syscalls as possible).
 *
 * <p>Thread-safe: {@link #execute} may be called from any thread; {@link #register} and
 * {@link #runAtEndOfBatch} only on this loop's thread.
 */
public final class EventLoop implements Executor {
  private static final Logger log = Logger.getLogger(EventLoop.class.getName());

  /** Reacts to readiness of one registered channel. Called on the loop thread only. */
  public interface Handler {
    void onReady(SelectionKey key);
  }

  // Wake-up protocol: the loop publishes SLEEPING just before it blocks in select(); a producer
  // that flips it to AWAKE pays for the one selector.wakeup() syscall. Producers that find the
  // loop already AWAKE only enqueue.
  private static final int AWAKE = 0;
  private static final int SLEEPING = 1;

  /**
   * Tasks run between two end-of-batch flushes in a long batch. Each cross-thread write of a
   * stream is one task (a unary response is about three), so this bounds how many streams' frames
   * one write syscall can carry: at 16 a loaded connection wrote once per 4-5 unary RPCs, four
   * times as often as grpc-netty, whose write queue flushes every 128 commands. 128 tasks of a
   * few microseconds each delay the first frame of a batch by well under a millisecond.
   */
  static final int TASKS_BETWEEN_FLUSHES = 128;

  private final Selector selector;
  private final Thread thread;
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicInteger wakeState = new AtomicInteger(AWAKE);
  /** Loop thread only. */
  private final ArrayList<Runnable> endOfBatch = new ArrayList<>();
  private final ArrayList<Runnable> endOfBatchRunning = new ArrayList<>();
  /**
   * Tasks run since the end-of-batch actions last ran: across a pass and the passes after its
   * yields, so those cannot stretch a batch past {@link #TASKS_BETWEEN_FLUSHES}. Loop thread only.
   */
  private int tasksSinceFlush;
  private volatile boolean shuttingDown;
  private final LoopStats stats = new LoopStats();

  EventLoop(ThreadFactory threadFactory) {
    try {
      selector = Selector.open();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open selector", e);
    }
    thread = threadFactory.newThread(this::run);
  }

  void start() {
    thread.start();
  }

  /** What this loop's thread did: busy and waiting time, tasks, channels owned. */
  public LoopStats stats() {
    return stats;
  }

  /** Whether the calling thread is this loop's thread. */
  public boolean inEventLoop() {
    return Thread.currentThread() == thread;
  }

  @Override
  public void execute(Runnable task) {
    if (shuttingDown) {
      throw new RejectedExecutionException("event loop is shut down");
    }
    tasks.add(task);
    if (shuttingDown && tasks.remove(task)) {
      // Shutdown raced with us and may have drained already: refuse rather than drop silently.
      throw new RejectedExecutionException("event loop is shut down");
    }
    // A plain read first: a producer that finds the loop awake (the common case under load)
    // leaves the shared word unwritten instead of taking its cache line from the loop thread.
    // Safe: both sides' accesses are volatile, so either we see SLEEPING here or the loop sees
    // the task in its re-check before it blocks.
    if (wakeState.get() == SLEEPING && wakeState.getAndSet(AWAKE) == SLEEPING) {
      stats.wokenUp();
      selector.wakeup();
    }
  }

  /**
   * Runs {@code task} on the loop, or drops it once the loop has stopped: the loop closed its
   * connections on its way out, so work for them has nothing left to act on.
   */
  public void executeOrDrop(Runnable task) {
    try {
      execute(task);
    } catch (RejectedExecutionException ignored) {
      // Stopped: see above.
    }
  }

  /**
   * Runs {@code task} on the loop, or on the calling thread once the loop has stopped (for work
   * that must complete, such as answering a stats request).
   */
  public void executeOrRunHere(Runnable task) {
    try {
      execute(task);
    } catch (RejectedExecutionException e) {
      task.run();
    }
  }

  /**
   * Registers {@code channel} with this loop's selector. Loop thread only.
   *
   * @return the key; its attachment is {@code handler}
   */
  public SelectionKey register(SelectableChannel channel, int ops, Handler handler)
      throws ClosedChannelException {
    assert inEventLoop();
    return channel.register(selector, ops, handler);
  }

  /**
   * Closes {@code channel}, registered with this loop's selector, and releases its socket before
   * returning. The JDK keeps a registered channel's socket open until the selector drops the
   * channel's cancelled key at its next selection, so a listening socket closed here would still
   * hold its port after its server reported itself terminated, and a restart on the same port
   * could fail with "address already in use". Selecting now drops the key; ready keys it finds are
   * dispatched with the next iteration as usual. Loop thread only.
   */
  public void closeRegistered(SelectableChannel channel) throws IOException {
    assert inEventLoop();
    try {
      channel.close();
    } finally {
      selector.selectNow();
    }
  }

  /**
   * Runs {@code action} once the current batch of events and tasks is processed (in a long
   * batch, after every {@link #TASKS_BETWEEN_FLUSHES} tasks, so a burst of tasks cannot delay
   * writes without bound). Loop
   * thread only. Used to flush writers: everything a batch produced is written together.
   */
  public void runAtEndOfBatch(Runnable action) {
    assert inEventLoop();
    endOfBatch.add(action);
  }

  void shutdown() {
    shuttingDown = true;
    selector.wakeup();
  }

  void awaitTermination() throws InterruptedException {
    thread.join();
  }

  private void run() {
    while (!shuttingDown) {
      try {
        select();
        processSelectedKeys();
        runTasks();
        if (YIELDS_BEFORE_FLUSH > 0 && !endOfBatch.isEmpty()) {
          yieldBeforeFlush();
        }
        runEndOfBatch();
      } catch (Throwable t) {
        // A bug in one connection must not kill the thread that owns many others.
        log.log(Level.SEVERE, "unexpected error in event loop " + thread.getName(), t);
      }
    }
    drainOnShutdown();
  }

  private void select() throws IOException {
    if (!tasks.isEmpty()) {
      selector.selectNow();
      return;
    }
    wakeState.set(SLEEPING);
    try {
      // Re-check after publishing SLEEPING: a task added before that would not have woken us.
      if (tasks.isEmpty()) {
        stats.waitStarted();
        selector.select();
        stats.waitEnded(selector.keys().size());
      } else {
        selector.selectNow();
      }
    } finally {
      wakeState.set(AWAKE);
    }
  }

  private void processSelectedKeys() {
    Iterator<SelectionKey> it = selector.selectedKeys().iterator();
    while (it.hasNext()) {
      SelectionKey key = it.next();
      it.remove();
      Handler handler = (Handler) key.attachment();
      try {
        handler.onReady(key);
      } catch (Throwable t) {
        log.log(Level.SEVERE, "handler " + handler + " threw", t);
      }
    }
  }

  private void runTasks() {
    // Bounded by what was queued when we started, so a task that re-queues itself cannot starve
    // the selector.
    int budget = Math.max(64, tasks.size());
    Runnable task;
    while (budget-- > 0 && (task = tasks.poll()) != null) {
      try {
        task.run();
      } catch (Throwable t) {
        log.log(Level.SEVERE, "task " + task + " threw", t);
      }
      stats.taskRun();
      if (++tasksSinceFlush >= TASKS_BETWEEN_FLUSHES && !endOfBatch.isEmpty()) {
        runEndOfBatch();
      }
    }
  }

  /**
   * Before its end-of-batch actions (the connections' flushes), the loop yields its thread this
   * many times, running after each yield the tasks other threads handed over meanwhile, and
   * stops at the first yield after which none came. On a busy machine the threads that were
   * about to hand the loop more writes (the executor threads answering the calls this batch
   * read) get the CPU first, and their writes join this batch's write instead of costing one of
   * their own: grpc-go's loopy writer yields once before flushing a small batch for the same
   * reason. On an idle machine a yield returns at once (nothing else is runnable), so a lone
   * call waits a sched_yield, about a microsecond. The bound is one more pass over the task
   * queue per yield: a producer that never stops cannot hold a flush back longer than that.
   * Measured on the bench's unary RPCs (100 B, 64 in flight): one yield took socket reads+writes
   * per RPC, both sides, from 0.17 to 0.13 (RPCs per write 17-21 to 27-30), with QPS and p99
   * still ahead of grpc-netty's; in single quick runs, eight yields, or parking 20 us, or
   * yielding for 30 us, reached 0.12 but lost about half the QPS. {@code
   * -Dgrpclean.yieldsBeforeFlush=0} turns it off (a switch to measure or rule it out, not a
   * tuning knob).
   */
  static final int YIELDS_BEFORE_FLUSH =
      Integer.getInteger("grpclean.yieldsBeforeFlush", 1);

  /** Yields before the end-of-batch actions; see {@link #YIELDS_BEFORE_FLUSH}. */
  private void yieldBeforeFlush() {
    for (int i = 0; i < YIELDS_BEFORE_FLUSH; i++) {
      Thread.yield();
      boolean arrived = !tasks.isEmpty();
      stats.yieldedBeforeFlush(arrived);
      if (!arrived) {
        return;
      }
      runTasks();
    }
  }

  private void runEndOfBatch() {
    tasksSinceFlush = 0;
    while (!endOfBatch.isEmpty()) {
      endOfBatchRunning.addAll(endOfBatch);
      endOfBatch.clear();
      for (int i = 0; i < endOfBatchRunning.size(); i++) {
        try {
          endOfBatchRunning.get(i).run();
        } catch (Throwable t) {
          log.log(Level.SEVERE, "end-of-batch action threw", t);
        }
      }
      endOfBatchRunning.clear();
    }
  }

  private void drainOnShutdown() {
    // Let already queued close tasks run so sockets are released, then close the selector.
    runTasks();
    runEndOfBatch();
    for (SelectionKey key : selector.keys()) {
      try {
        key.channel().close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    try {
      selector.close();
    } catch (IOException e) {
      log.log(Level.FINE, "selector close failed", e);
    }
  }

  @Override
  public String toString() {
    return "EventLoop[" + thread.getName() + "]";
  }
}
