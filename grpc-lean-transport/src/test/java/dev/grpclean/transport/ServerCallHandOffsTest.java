package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.InternalChannelz;
import io.grpc.InternalInstrumented;
import io.grpc.InternalWithLogId;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * How a server call reaches the application's executor: a call starts once the read that opened
 * it is dispatched ({@link StartsAfterRead}), with its request already in the deframer, so the
 * executor's first task answers it, and a call reset in that read never reaches the application.
 * Channelz counts every call once.
 *
 * <p>Thread-compatible (one test thread; the server runs on its loop and the executor below).
 */
@RunWith(JUnit4.class)
public class ServerCallHandOffsTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final Duration WAIT = RawHttp2Client.DEFAULT_WAIT;

  private final AtomicInteger callsStarted = new AtomicInteger();
  private final AtomicInteger callsCompleted = new AtomicInteger();
  private final GatedExecutor executor = new GatedExecutor();
  private Server server;

  @After
  public void tearDown() throws Exception {
    executor.open();
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    executor.stop();
    LeanLeases.assertAllReturned();
  }

  @Test
  public void unaryCallIsAnsweredInTheExecutorsFirstTask() throws Exception {
    start();
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      for (int i = 0, id = 1; i < 5; i++, id += 2) {
        int before = executor.tasks.get();
        // The request and a PING in one write: the PING's ack leaves at the end of the loop turn
        // that read the request, so once it is back the loop has done all it will for the call
        // until the executor runs.
        c.send(c.headers(id, RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName()), false),
            RawFrames.data(id, RawFrames.grpcMessage(new byte[] {(byte) i}), true),
            RawFrames.ping(false, id));
        c.awaitFrame(f -> f.type == FrameType.PING && f.ack(), WAIT);
        assertEquals(1, executor.tasks.get() - before);
        // One executor task answers: the request and its end were already in the deframer.
        executor.runQueued();
        BadInputTest.assertEchoResponse(c.awaitStreamEnd(id), new byte[] {(byte) i});
        // The loop reports completion once the trailers are written: the call's second task.
        Conditions.await(() -> executor.tasks.get() - before == 2, WAIT,
            () -> executor.tasks + " tasks");
        executor.runQueued();
        assertEquals(i + 1, callsCompleted.get());
      }
      assertEquals(5, callsStarted.get());
      InternalChannelz.TransportStats stats = socketStats(5);
      assertEquals(5, stats.streamsStarted);
      assertEquals(5, stats.streamsSucceeded);
      assertEquals(0, stats.streamsFailed);
    }
  }

  @Test
  public void callResetInTheReadThatOpenedItNeverReachesTheApplication() throws Exception {
    executor.open();
    start();
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      // Enough DATA that the server copies it into pooled leases, which must go back.
      byte[] large = new byte[3 * InboundData.MIN_POOLED_BYTES];
      c.send(c.headers(1, RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName()), false),
          RawFrames.data(1, RawFrames.grpcMessage(large), false),
          RawFrames.rstStream(1, ErrorCode.CANCEL),
          c.headers(3, RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName()), true),
          RawFrames.rstStream(3, ErrorCode.CANCEL));
      BadInputTest.assertEchoOnRawConnection(c, 5, new byte[] {7});
    }
    assertEquals("only the echo started", 1, callsStarted.get());
    Conditions.await(() -> callsCompleted.get() == 1, WAIT, () -> callsCompleted + " completed");
  }

  @Test
  public void concurrentCallsAreEachCountedOnceByChannelz() throws Exception {
    executor.open();
    start();
    int calls = 200;
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      for (int i = 0, id = 1; i < calls; i++, id += 2) {
        out.writeBytes(c.headers(id,
            RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName()), false));
        out.writeBytes(RawFrames.data(id, RawFrames.grpcMessage(new byte[] {1}), true));
        if (i % 50 == 49) {
          c.send(out.toByteArray());
          out.reset();
          int[] ended = {0};
          c.awaitFrame(f -> f.endStream() && ++ended[0] == 50, WAIT);
        }
      }
      Conditions.await(() -> callsCompleted.get() == calls, WAIT,
          () -> callsCompleted + " calls completed");
      InternalChannelz.TransportStats stats = socketStats(calls);
      assertEquals(calls, stats.streamsStarted);
      assertEquals(calls, stats.streamsSucceeded);
      assertEquals(0, stats.streamsFailed);
    }
  }

  private void start() throws Exception {
    ServerInterceptor counting = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
          Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        callsStarted.incrementAndGet();
        return new SimpleForwardingServerCallListener<ReqT>(next.startCall(call, headers)) {
          @Override
          public void onComplete() {
            callsCompleted.incrementAndGet();
            super.onComplete();
          }
        };
      }
    };
    server = LeanServerBuilder.forPort(0)
        .executor(executor)
        .addService(ServerInterceptors.intercept(Echo.service(), counting))
        .build()
        .start();
  }

  /**
   * The channelz figures of the server's one connection once {@code closed} streams were counted
   * closed (grpc-core counts a call when the loop completes it, after its trailers' write).
   */
  private InternalChannelz.TransportStats socketStats(int closed) throws Exception {
    long serverId = ((InternalWithLogId) server).getLogId().getId();
    InternalChannelz.TransportStats[] last = new InternalChannelz.TransportStats[1];
    Conditions.await(() -> {
      InternalChannelz.ServerSocketsList sockets =
          InternalChannelz.instance().getServerSockets(serverId, 0, 10);
      @SuppressWarnings("unchecked") // channelz lists server sockets as their log ids
      InternalInstrumented<InternalChannelz.SocketStats> socket =
          (InternalInstrumented<InternalChannelz.SocketStats>) sockets.sockets.get(0);
      try {
        last[0] = socket.getStats().get(10, TimeUnit.SECONDS).data;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      return last[0].streamsSucceeded + last[0].streamsFailed >= closed;
    }, WAIT, () -> String.valueOf(last[0]));
    return last[0];
  }

  /**
   * Counts the tasks it is given and, while closed, keeps them until {@link #runQueued}; open, it
   * runs them at once on a pool of its own.
   */
  private static final class GatedExecutor implements Executor {
    final AtomicInteger tasks = new AtomicInteger();
    private final ArrayDeque<Runnable> queued = new ArrayDeque<>();
    private boolean opened;
    private final java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(4);

    @Override
    public synchronized void execute(Runnable task) {
      tasks.incrementAndGet();
      if (opened) {
        pool.execute(task);
      } else {
        queued.add(task);
      }
    }

    /** Runs what waits, on the calling thread. */
    void runQueued() {
      Runnable[] waiting;
      synchronized (this) {
        waiting = queued.toArray(new Runnable[0]);
        queued.clear();
      }
      for (Runnable r : waiting) {
        r.run();
      }
    }

    synchronized void open() {
      opened = true;
      for (Runnable r : queued) {
        pool.execute(r);
      }
      queued.clear();
    }

    void stop() {
      pool.shutdownNow();
    }
  }
}
