package dev.grpclean.transport.pool;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Hammers one pool from several threads and checks that no buffer is ever leased to two threads
 * at once and that the counters return exactly to baseline.
 */
public class BufferPoolConcurrencyTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  /** More threads than the 2 cores, so leases are preempted mid-use. */
  private static final int THREADS = 4;
  /** Largest request: spans classes 4 KiB to 128 KiB, plus an occasional oversized one. */
  private static final int MAX_REQUEST_BYTES = 128 * 1024;
  /** Small enough that releases regularly hit the cap and are dropped. */
  private static final long MAX_POOLED_BYTES = 512 * 1024;
  /** Distance between markers: every 4 KiB page of the requested range gets one. */
  private static final int MARKER_STRIDE_BYTES = 4096;

  @Test
  public void heapPoolNeverSharesBuffersAndReturnsToBaseline() throws Exception {
    hammer(new BufferPool("heap", false, MAX_POOLED_BYTES, false), 5_000);
  }

  @Test
  public void directPoolNeverSharesBuffersAndReturnsToBaseline() throws Exception {
    hammer(new BufferPool("direct", true, MAX_POOLED_BYTES, false), 5_000);
  }

  @Test
  public void leakDetectingPoolNeverSharesBuffersAndReturnsToBaseline() throws Exception {
    hammer(new BufferPool("leaky", false, MAX_POOLED_BYTES, true), 2_000);
  }

  private static void hammer(BufferPool pool, int iterationsPerThread) throws Exception {
    long seed = System.nanoTime();
    CyclicBarrier start = new CyclicBarrier(THREADS);
    ExecutorService executor = Executors.newFixedThreadPool(THREADS);
    try {
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int threadIndex = t;
        workers.add(executor.submit(() -> {
          start.await();
          work(pool, threadIndex, new SplittableRandom(seed + threadIndex), iterationsPerThread);
          return null;
        }));
      }
      for (Future<?> worker : workers) {
        worker.get(); // Rethrows a worker's assertion failure.
      }
    } finally {
      executor.shutdownNow();
      assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
    }

    String context = "seed=" + seed + " " + pool.stats();
    assertEquals(context, 0, pool.leasedBytes());
    assertEquals(context, 0, pool.leasesOutstanding());
    assertEquals(context, THREADS * (long) iterationsPerThread, pool.totalLeases());
    assertTrue(context, pool.pooledBytes() <= MAX_POOLED_BYTES);
    pool.assertNoLeaks();
  }

  private static void work(
      BufferPool pool, int threadIndex, SplittableRandom random, int iterations) {
    for (int i = 0; i < iterations; i++) {
      int requestBytes = random.nextInt(100) == 0
          ? BufferPool.MAX_CLASS_BYTES + 1 + random.nextInt(1024)
          : 1 + random.nextInt(MAX_REQUEST_BYTES);
      ByteBuffer buffer = pool.lease(requestBytes);
      if (buffer.position() != 0 || buffer.limit() != buffer.capacity()
          || buffer.capacity() < requestBytes) {
        throw new AssertionError("bad lease for " + requestBytes + ": " + buffer);
      }
      // A marker unique to this thread and iteration, on every page of the requested range: if
      // the pool handed this buffer to another thread too, its markers overwrite some of ours.
      long marker = ((long) threadIndex << 32) | i;
      int lastMarkerOffset = (requestBytes - Long.BYTES) & ~(Long.BYTES - 1);
      for (int offset = 0; offset <= lastMarkerOffset; offset += MARKER_STRIDE_BYTES) {
        buffer.putLong(offset, marker);
      }
      if (lastMarkerOffset >= 0) {
        buffer.putLong(lastMarkerOffset, marker);
      }
      for (int offset = 0; offset <= lastMarkerOffset; offset += MARKER_STRIDE_BYTES) {
        checkMarker(buffer, offset, marker);
      }
      if (lastMarkerOffset >= 0) {
        checkMarker(buffer, lastMarkerOffset, marker);
      }
      pool.release(buffer);
    }
  }

  private static void checkMarker(ByteBuffer buffer, int offset, long marker) {
    long found = buffer.getLong(offset);
    if (found != marker) {
      throw new AssertionError(String.format(
          "buffer shared between threads: at offset %d expected %x but found %x",
          offset, marker, found));
    }
  }
}
