package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The hand-over of a stream's outbound operations from its writing thread to the loop: order,
 * batching into few loop tasks, and every lease back when the stream goes away in between.
 */
public class OutboundHandOffTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private final long baseline = LeanTransportStats.leasedBytes();
  private final List<ExecutorService> executors = new ArrayList<>();

  @After
  public void stopExecutors() throws InterruptedException {
    for (ExecutorService e : executors) {
      e.shutdownNow();
      assertTrue(e.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  /** Tasks queued by hand: the test decides when the "loop" runs them. */
  private static final class ManualLoop implements java.util.concurrent.Executor {
    final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    boolean stopped;
    int submitted;

    @Override
    public void execute(Runnable r) {
      if (stopped) {
        throw new RejectedExecutionException("stopped");
      }
      submitted++;
      tasks.add(r);
    }

    void runAll() {
      Runnable r;
      while ((r = tasks.poll()) != null) {
        r.run();
      }
    }
  }

  /** Records what reaches the loop side, as strings, and releases each chunk as a writer would. */
  private static class Recorder extends OutboundHandOff {
    final List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    final List<ByteBuffer> chunks = java.util.Collections.synchronizedList(new ArrayList<>());
    final LeanMemoryBudget budget;

    Recorder(java.util.concurrent.Executor loop, LeanMemoryBudget budget) {
      super(loop, budget);
      this.budget = budget;
    }

    @Override
    void sendHeaders(Http2Headers headers) {
      events.add("headers");
    }

    @Override
    void sendData(ByteBuffer chunk, int numMessages) {
      events.add("data " + chunk.get(0) + " m" + numMessages);
      chunks.add(chunk);
      OutboundStream.releaseChunk(chunk, budget);
    }

    @Override
    void sendTrailers(Http2Headers trailers) {
      events.add("trailers");
    }

    @Override
    void requestFlush() {
      events.add("flush");
    }

    @Override
    void onLoopFailure(Throwable t) {
      events.add("failure " + t.getMessage());
    }
  }

  private static ByteBuffer chunk(LeanMemoryBudget budget, int tag, int bytes) {
    ByteBuffer b = LeanBuffers.leaseOutbound(bytes);
    budget.reserve(b.capacity());
    b.put((byte) tag);
    b.position(bytes);
    b.flip();
    return b;
  }

  private long leasedSinceStart() {
    return LeanTransportStats.leasedBytes() - baseline;
  }

  @Test
  public void aLargeMessageGoesToTheLoopInFewTasksAndInOrder() {
    ManualLoop loop = new ManualLoop();
    LeanMemoryBudget budget = LeanMemoryBudget.of(1 << 30, null);
    Recorder r = new Recorder(loop, budget);
    r.offerHeaders(new DefaultHttp2Headers(), false);
    assertEquals("unflushed headers wait", 0, loop.submitted);
    // A 1 MiB message in 16 KiB buffers, the loop never running meanwhile: one task.
    for (int i = 0; i < 64; i++) {
      r.offerData(chunk(budget, i, 16 * 1024), 0, true, false);
    }
    assertEquals(1, loop.submitted);
    r.offerData(chunk(budget, 64, 5), 1, true, true);
    assertEquals("a write while the task is queued joins it", 1, loop.submitted);
    loop.runAll();
    List<String> expected = new ArrayList<>();
    expected.add("headers");
    for (int i = 0; i <= 64; i++) {
      expected.add("data " + i + " m" + (i == 0 ? 1 : 0));
    }
    expected.add("flush");
    assertEquals(expected, r.events);
    assertEquals(0, leasedSinceStart());
    assertEquals(0, budget.usedBytes());
  }

  @Test
  public void unaryResponseWaitsForItsTrailersAndGoesInOneTask() {
    ManualLoop loop = new ManualLoop();
    LeanMemoryBudget budget = LeanMemoryBudget.of(1 << 30, null);
    Recorder r = new Recorder(loop, budget);
    r.offerHeaders(new DefaultHttp2Headers(), false);
    r.offerData(chunk(budget, 7, 100), 1, false, false);
    assertEquals(0, loop.submitted);
    assertEquals(1, r.pendingCount());
    r.offerTrailers(new DefaultHttp2Headers());
    assertEquals(1, loop.submitted);
    loop.runAll();
    assertEquals(List.of("headers", "data 7 m1", "trailers"), r.events);
    assertEquals(0, leasedSinceStart());
  }

  @Test
  public void closeBetweenBufferingAndTheLoopTaskReturnsEveryLease() {
    ManualLoop loop = new ManualLoop();
    LeanMemoryBudget budget = LeanMemoryBudget.of(1 << 30, null);
    Recorder r = new Recorder(loop, budget);
    for (int i = 0; i < 6; i++) {
      r.offerData(chunk(budget, i, 16 * 1024), 0, true, false); // the 4th queues the task
    }
    assertEquals(1, loop.submitted);
    assertTrue(leasedSinceStart() > 0);
    r.close(); // the stream left its connection before the loop ran the task
    assertEquals(0, leasedSinceStart());
    assertEquals(0, budget.usedBytes());
    loop.runAll();
    assertEquals("the queued task finds nothing", List.of(), r.events);
    r.offerData(chunk(budget, 9, 100), 1, true, true);
    r.offerTrailers(new DefaultHttp2Headers());
    assertEquals("later writes go straight back", 0, leasedSinceStart());
    assertEquals(0, budget.usedBytes());
    assertEquals(1, loop.submitted);
  }

  @Test
  public void aStoppedLoopReturnsWhatWaited() {
    ManualLoop loop = new ManualLoop();
    LeanMemoryBudget budget = LeanMemoryBudget.of(1 << 30, null);
    Recorder r = new Recorder(loop, budget);
    r.offerData(chunk(budget, 1, 100), 1, false, false);
    loop.stopped = true;
    r.offerData(chunk(budget, 2, 100), 1, true, true);
    assertEquals(0, leasedSinceStart());
    assertEquals(0, budget.usedBytes());
    assertEquals(List.of(), r.events);
  }

  @Test
  public void aFailingLoopSideReturnsTheRestAndFailsTheConnection() {
    ManualLoop loop = new ManualLoop();
    LeanMemoryBudget budget = LeanMemoryBudget.of(1 << 30, null);
    Recorder r = new Recorder(loop, budget) {
      @Override
      void sendData(ByteBuffer chunk, int numMessages) {
        byte tag = chunk.get(0); // read before the chunk goes back to its pool
        super.sendData(chunk, numMessages);
        if (tag == 1) {
          throw new IllegalStateException("boom");
        }
      }
    };
    for (int i = 0; i < 4; i++) {
      r.offerData(chunk(budget, i, 100), 1, false, false);
    }
    r.offerNow();
    loop.runAll();
    assertEquals(List.of("data 0 m4", "data 1 m0", "failure boom"), r.events);
    assertEquals(0, leasedSinceStart());
    assertEquals(0, budget.usedBytes());
  }

  /**
   * Real threads: writers of several streams offer buffers while one loop thread drains them;
   * each stream's buffers arrive in the order written, and every lease comes back.
   */
  @Test
  public void concurrentStreamsKeepTheirOrder() throws Exception {
    ExecutorService loop = Executors.newSingleThreadExecutor();
    executors.add(loop);
    int streams = 4;
    int buffers = 2000;
    ExecutorService writers = Executors.newFixedThreadPool(streams);
    executors.add(writers);
    LeanMemoryBudget budget = LeanMemoryBudget.of(1 << 30, null);
    List<Recorder> recorders = new ArrayList<>();
    CountDownLatch done = new CountDownLatch(streams);
    for (int s = 0; s < streams; s++) {
      Recorder r = new Recorder(loop, budget) {
        @Override
        void sendTrailers(Http2Headers trailers) {
          super.sendTrailers(trailers);
          done.countDown();
        }
      };
      recorders.add(r);
    }
    CyclicBarrier start = new CyclicBarrier(streams);
    List<Future<?>> futures = new ArrayList<>();
    for (Recorder r : recorders) {
      futures.add(writers.submit(() -> {
        start.await();
        r.offerHeaders(new DefaultHttp2Headers(), true);
        for (int i = 0; i < buffers; i++) {
          // Mixed: mid-message buffers, and every 7th ends a message with a flush.
          boolean ends = i % 7 == 6;
          r.offerData(chunk(budget, i % 100, 1024 * (1 + i % 4)), ends ? 1 : 0, true, ends);
        }
        r.offerTrailers(new DefaultHttp2Headers());
        return null;
      }));
    }
    for (Future<?> f : futures) {
      f.get();
    }
    assertTrue(done.await(30, TimeUnit.SECONDS));
    for (Recorder r : recorders) {
      List<String> events = new ArrayList<>(r.events);
      events.removeIf("flush"::equals);
      assertEquals("headers", events.get(0));
      assertEquals("trailers", events.get(events.size() - 1));
      List<Integer> tags = new ArrayList<>();
      int messages = 0;
      for (String e : events) {
        if (e.startsWith("data ")) {
          String[] parts = e.split(" ");
          tags.add(Integer.parseInt(parts[1]));
          messages += Integer.parseInt(parts[2].substring(1));
        }
      }
      assertEquals(buffers, tags.size());
      for (int i = 0; i < buffers; i++) {
        assertEquals(i % 100, (int) tags.get(i));
      }
      assertEquals(buffers / 7, messages);
    }
    assertEquals(0, leasedSinceStart());
    assertEquals(0, budget.usedBytes());
  }

  /**
   * Real threads: the loop closes the hand-off (the stream was cancelled) while its writer is
   * still offering; every buffer is either handed to the loop side or returned, exactly once.
   */
  @Test
  public void closeRacingWithWritesReturnsEveryLease() throws Exception {
    ExecutorService loop = Executors.newSingleThreadExecutor();
    executors.add(loop);
    ExecutorService writer = Executors.newSingleThreadExecutor();
    executors.add(writer);
    LeanMemoryBudget budget = LeanMemoryBudget.of(1 << 30, null);
    for (int round = 0; round < 50; round++) {
      Recorder r = new Recorder(loop, budget);
      CyclicBarrier start = new CyclicBarrier(2);
      int closeAfter = round * 7;
      Future<?> w = writer.submit(() -> {
        start.await();
        for (int i = 0; i < 400; i++) {
          r.offerData(chunk(budget, i % 100, 4096), i % 3 == 2 ? 1 : 0, true, i % 3 == 2);
        }
        return null;
      });
      Future<?> c = loop.submit(() -> {
        start.await();
        for (int i = 0; i < closeAfter; i++) {
          Thread.onSpinWait();
        }
        r.close();
        return null;
      });
      w.get();
      c.get();
      // The loop thread runs any task still queued for the closed hand-off before this.
      loop.submit(() -> { }).get();
      assertEquals("round " + round, 0, leasedSinceStart());
      assertEquals(0, budget.usedBytes());
      assertFalse(r.events.stream().anyMatch(e -> e.startsWith("failure")));
    }
  }
}
