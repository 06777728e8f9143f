package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.io.EventLoop;
import dev.grpclean.transport.pool.Pools;
import dev.grpclean.transport.testing.ByteMethods;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.ConnectivityState;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * What the fault-scenario tests share: their methods, waits with a bound, and a probe that
 * records how the server side of a call ended (the pool baseline check is
 * {@link LeanLeases#baseline}).
 *
 * <p>Thread-safe (stateless; each {@link ServerCallProbe} is thread-safe on its own).
 */
final class FaultFixtures {
  private static final Logger log = Logger.getLogger(FaultFixtures.class.getName());

  /** Bound on any single wait for an event; the test's Timeout rule bounds the whole test. */
  static final Duration WAIT = Duration.ofSeconds(20);

  /** The service of the fault scenarios; each test registers its own handlers for it. */
  static final String SERVICE = "fault.Peer";
  static final MethodDescriptor<byte[], byte[]> UNARY =
      ByteMethods.method(MethodType.UNARY, SERVICE, "Unary");
  static final MethodDescriptor<byte[], byte[]> DOWNLOAD =
      ByteMethods.method(MethodType.SERVER_STREAMING, SERVICE, "Download");
  static final MethodDescriptor<byte[], byte[]> UPLOAD =
      ByteMethods.method(MethodType.CLIENT_STREAMING, SERVICE, "Upload");
  static final MethodDescriptor<byte[], byte[]> BIDI =
      ByteMethods.method(MethodType.BIDI_STREAMING, SERVICE, "Bidi");

  /** Name prefix of the transport's poller threads (see SharedLoops). */
  private static final String POLLER_THREAD_PREFIX = "grpc-lean-poller-";

  private FaultFixtures() {}

  /**
   * Waits until a connection's writer is blocked on a full socket send buffer, holding a write
   * buffer the socket would not take. {@code loopThread} is the only poller thread of the side
   * under test (a dedicated group of one), and the connection must be its only busy one.
   *
   * <p>Proof, without timing: a writer lease is outstanding, then the loop thread is seen idle in
   * its selector (so no flush is running), then the lease is still outstanding, and the I/O pool
   * granted no lease in between. A buffer of a running flush would have been released before the
   * loop went back to its selector, and any replacement would have been a new lease; so the one
   * seen is held across loop iterations, which only a blocked writer does. In leak-detection
   * mode (surefire turns it on) "writer lease" means one taken by {@link LoopyWriter}; otherwise
   * one write buffer's worth of I/O leases, since reads release theirs within the event.
   */
  static void awaitWriterBlockedOnSocket(Thread loopThread) {
    Conditions.await(
        () -> {
          long leasesBefore = Pools.io().totalLeases();
          return writerLeaseOutstanding()
              && inSelector(loopThread)
              && writerLeaseOutstanding()
              && Pools.io().totalLeases() == leasesBefore;
        },
        WAIT,
        () -> "writer never seen blocked on the socket: " + LeanTransportStats.describe());
  }

  private static boolean writerLeaseOutstanding() {
    if (!Pools.io().isLeakDetectionEnabled()) {
      return Pools.io().leasedBytes() >= WriteBatch.WRITE_BUFFER_BYTES;
    }
    for (String site : Pools.io().outstandingLeaseSites()) {
      if (site.contains(LoopyWriter.class.getName() + ".flush")) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code loopThread} is in its event loop's select step, i.e. between batches. */
  private static boolean inSelector(Thread loopThread) {
    for (StackTraceElement frame : loopThread.getStackTrace()) {
      if (frame.getClassName().equals(EventLoop.class.getName())
          && frame.getMethodName().equals("select")) {
        return true;
      }
    }
    return false;
  }

  /** The live poller threads of every lean group in the process. */
  static Set<Thread> pollerThreads() {
    Set<Thread> threads = new HashSet<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith(POLLER_THREAD_PREFIX) && !t.getName().endsWith("-stop")) {
        threads.add(t);
      }
    }
    return threads;
  }

  /**
   * The poller threads started since {@code before} was taken: those of the dedicated group of a
   * server or channel started meanwhile, if nothing else created a lean group.
   */
  static Set<Thread> newPollerThreads(Set<Thread> before) {
    Set<Thread> after = pollerThreads();
    after.removeAll(before);
    return after;
  }

  /** The only element of {@code threads}. */
  static Thread onlyThread(Set<Thread> threads) {
    if (threads.size() != 1) {
      throw new AssertionError("expected one new poller thread, got " + threads);
    }
    return threads.iterator().next();
  }

  /** Waits (bounded, by joining) until every thread of {@code threads} has exited. */
  static void assertThreadsExit(Set<Thread> threads) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    for (Thread t : threads) {
      t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      if (t.isAlive()) {
        throw new AssertionError("poller thread still running after " + WAIT + ": " + t);
      }
    }
  }

  /**
   * A fresh lean channel gets an echo from {@code server} (which must serve {@link
   * Echo#service}): the server survived the scenario. Leases are the caller's check.
   */
  static void assertEchoServed(Server server) throws InterruptedException {
    ManagedChannel channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().build();
    try {
      byte[] request = {4, 2};
      assertArrayEquals(request, ClientCalls.blockingUnaryCall(channel, Echo.UNARY,
          CallOptions.DEFAULT.withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS),
          request));
    } finally {
      channel.shutdownNow();
      assertTrue("channel terminates",
          channel.awaitTermination(WAIT.toMillis(), TimeUnit.MILLISECONDS));
    }
  }

  static void await(CountDownLatch latch, String what) throws InterruptedException {
    if (!latch.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("not within " + WAIT + ": " + what);
    }
  }

  static <T> T await(Future<T> future, String what) throws InterruptedException {
    try {
      return future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("not within " + WAIT + ": " + what, e);
    } catch (ExecutionException e) {
      throw new AssertionError(what + " failed", e.getCause());
    }
  }

  /**
   * The client learned that its connection is gone: {@code callStatus} (a call on it, named
   * {@code what}) ends UNAVAILABLE, the channel leaves READY, and every lease is back to
   * {@code leaseBaseline}.
   */
  static void assertConnectionLost(Future<Status> callStatus, String what,
      ManagedChannel channel, long leaseBaseline) throws InterruptedException {
    Status status = await(callStatus, what);
    log.info("client call ended with " + status);
    assertEquals(status.toString(), Status.Code.UNAVAILABLE, status.getCode());
    ConnectivityState state =
        Conditions.awaitState(channel, s -> s != ConnectivityState.READY, WAIT);
    assertNotEquals(ConnectivityState.READY, state);
    LeanLeases.assertBackTo(leaseBaseline);
  }

  /** The status a client-side observer ended with (OK for onCompleted). */
  static Status statusOf(Throwable t) {
    return t == null ? Status.OK : Status.fromThrowable(t);
  }

  /**
   * How the server side of one call ended, seen by the application: the observer's cancel
   * handler, the call's {@link Context} cancellation, and whether the handler ever started. A
   * handler calls {@link #attach} first thing.
   *
   * <p>Thread-safe: futures and latches only.
   */
  static final class ServerCallProbe {
    final CountDownLatch started = new CountDownLatch(1);
    /** Completes when {@code ServerCallStreamObserver}'s cancel handler runs. */
    final CompletableFuture<Void> onCancel = new CompletableFuture<>();
    /** Completes with the cancellation cause when the call's Context is cancelled. */
    final CompletableFuture<Throwable> contextCancelled = new CompletableFuture<>();

    /** Handler thread: hooks the probe to the current call. */
    void attach(StreamObserver<?> responses) {
      ServerCallStreamObserver<?> call = (ServerCallStreamObserver<?>) responses;
      call.setOnCancelHandler(() -> onCancel.complete(null));
      Context.current().addListener(
          context -> contextCancelled.complete(context.cancellationCause()), Runnable::run);
      started.countDown();
    }

    /** Asserts both cancellation signals reach the application. */
    void assertCancelled() throws InterruptedException {
      await(onCancel, "the server call's onCancel handler");
      await(contextCancelled, "the server call's Context cancellation");
    }
  }

  /**
   * Records the status with which the transport closed each server stream, as a stream tracer
   * sees it: the status the server side of the call observed (UNAVAILABLE for a lost connection,
   * CANCELLED for a reset stream, OK for a completed call).
   *
   * <p>Thread-safe.
   */
  static final class ServerStreamCloses extends ServerStreamTracer.Factory {
    private final BlockingQueue<Status> closed = new LinkedBlockingQueue<>();

    @Override
    public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
      return new ServerStreamTracer() {
        @Override
        public void streamClosed(Status status) {
          closed.add(status);
        }
      };
    }

    /** The next stream close, in the order they happened. */
    Status next() throws InterruptedException {
      Status status = closed.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      if (status == null) {
        throw new AssertionError("no server stream closed within " + WAIT);
      }
      return status;
    }
  }
}
