package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The control queue's sampled waits and Little's-law depth, on a clock the test moves. */
public class ControlQueueWaitTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private long now = 1_000;

  /** A FIFO with the hooks as LoopyWriter calls them. */
  private final class Queue {
    final ControlQueueWait wait;
    final ArrayDeque<Long> items = new ArrayDeque<>();
    long nextId;

    Queue(int alreadyQueued) {
      for (int i = 0; i < alreadyQueued; i++) {
        items.add(nextId++);
      }
      wait = new ControlQueueWait(alreadyQueued, () -> now);
    }

    void add() {
      items.add(nextId++);
      wait.enqueued(items.size());
    }

    void poll() {
      items.poll();
      wait.dequeued();
    }

    LeanConnectionStats stats() {
      LeanConnectionStats.Builder b = LeanConnectionStats.builder(now);
      wait.addTo(b, now);
      return b.build();
    }
  }

  @Test
  public void everyItemWaitingTheSameTimeGivesThatMeanAndMax() {
    Queue q = new Queue(0);
    for (int round = 0; round < 100; round++) {
      for (int i = 0; i < 4; i++) {
        q.add();
      }
      now += 500;
      for (int i = 0; i < 4; i++) {
        q.poll();
      }
    }
    LeanConnectionStats s = q.stats();
    assertEquals(400, s.get(Figure.QUEUE_ITEMS_WRITTEN));
    // One sample per 16 items: samples at items 1, 17, ..., 385; the first stands for itself.
    assertEquals(385, s.get(Figure.QUEUE_WAIT_SAMPLED_ITEMS));
    assertEquals(500, s.queueWaitMeanNanos());
    assertEquals(500, s.get(Figure.QUEUE_WAIT_NANOS_MAX));
    assertEquals(100 * 500, s.get(Figure.QUEUE_OBSERVED_NANOS));
    // 4 items for 500 ns of each 500 ns round: on average 4 deep.
    assertEquals(4.0, s.averageQueueDepth(), 1e-9);
  }

  @Test
  public void itemsQueuedBeforeCountingAreNotTimedAndDoNotShiftTheSequence() {
    Queue q = new Queue(3);
    now += 10_000; // the three old items waited long; they must not be taken for new ones
    q.add(); // item 1 of the counted ones: sampled
    for (int i = 0; i < 3; i++) {
      q.poll();
    }
    now += 200;
    q.poll();
    LeanConnectionStats s = q.stats();
    assertEquals(1, s.get(Figure.QUEUE_ITEMS_WRITTEN));
    assertEquals(1, s.get(Figure.QUEUE_WAIT_SAMPLED_ITEMS));
    assertEquals(200, s.get(Figure.QUEUE_WAIT_NANOS_MAX));
  }

  @Test
  public void burstsOfAnySizeGiveAMeanNearTheTruth() {
    for (int n : new int[] {100, 1000, 10_000, 100_000}) {
      now = 1_000;
      Queue q = new Queue(0);
      // n items queued at once, then drained one per 10 ns: item k waits 10 k ns, mean 5 (n + 1).
      for (int i = 0; i < n; i++) {
        q.add();
      }
      for (int i = 0; i < n; i++) {
        now += 10;
        q.poll();
      }
      LeanConnectionStats s = q.stats();
      assertEquals(n, s.get(Figure.QUEUE_ITEMS_WRITTEN));
      long sampled = s.get(Figure.QUEUE_WAIT_SAMPLED_ITEMS);
      assertTrue(n + " items: samples stand for " + sampled, sampled > 0 && sampled <= n);
      double truth = 5.0 * (n + 1);
      long mean = s.queueWaitMeanNanos();
      assertTrue(n + " items: mean " + mean + " vs " + truth,
          mean > 0.75 * truth && mean < 1.35 * truth);
      long max = s.get(Figure.QUEUE_WAIT_NANOS_MAX);
      assertTrue(n + " items: max " + max, max >= mean && max <= 10L * n);
    }
  }

  @Test
  public void aClearedQueueDropsItsPendingSamples() {
    Queue q = new Queue(0);
    for (int i = 0; i < 40; i++) {
      q.add();
    }
    // Cleared without polling (the connection closed): the counters see no dequeue. A snapshot
    // then has only what was written.
    LeanConnectionStats s = q.stats();
    assertEquals(0, s.get(Figure.QUEUE_ITEMS_WRITTEN));
    assertEquals(0, s.get(Figure.QUEUE_WAIT_SAMPLED_ITEMS));
    assertEquals(0.0, s.averageQueueDepth(), 0);
  }

  @Test
  public void waitsSumAcrossConnectionsAndMinusKeepsTheLaterMax() {
    LeanConnectionStats.Builder a = LeanConnectionStats.builder(0)
        .add(Figure.QUEUE_WAIT_SAMPLED_ITEMS, 16).add(Figure.QUEUE_WAIT_NANOS, 1600)
        .max(Figure.QUEUE_WAIT_NANOS_MAX, 300);
    LeanConnectionStats b = LeanConnectionStats.builder(0)
        .add(Figure.QUEUE_WAIT_SAMPLED_ITEMS, 16).add(Figure.QUEUE_WAIT_NANOS, 4800)
        .max(Figure.QUEUE_WAIT_NANOS_MAX, 200).build();
    LeanConnectionStats sum = a.addAll(b).build();
    assertEquals(200, sum.queueWaitMeanNanos());
    assertEquals(300, sum.get(Figure.QUEUE_WAIT_NANOS_MAX));
    assertEquals(300, sum.minus(b).get(Figure.QUEUE_WAIT_NANOS_MAX));
  }

  @Test
  public void realConnectionsSampleTheirWritersQueueOnlyWhenCounting() throws Exception {
    for (boolean counting : new boolean[] {true, false}) {
      Server server = LeanServerBuilder.forPort(0).addService(Echo.service()).build().start();
      LeanChannelBuilder cb = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
          .usePlaintext().connectionCounters(counting);
      ManagedChannel channel = cb.build();
      try {
        byte[] request = new byte[100];
        for (int i = 0; i < 200; i++) {
          Echo.call(channel, request);
        }
        LeanConnectionStats s = cb.connectionStats().snapshot();
        long written = s.get(Figure.QUEUE_ITEMS_WRITTEN);
        long sampled = s.get(Figure.QUEUE_WAIT_SAMPLED_ITEMS);
        if (counting) {
          // The client's request HEADERS of the calls after the connection became busy (its
          // first 32 syscalls, a dozen calls). Not the server's: its response HEADERS lead their
          // stream's DATA (LoopyWriter.enqueueLeadingHeaders), they skip this queue.
          assertTrue("written " + written, written >= 150 && written <= 200 + 8);
          assertTrue("sampled " + sampled, sampled > 0 && sampled <= written);
          assertTrue(s.get(Figure.QUEUE_OBSERVED_NANOS) > 0);
          assertTrue(s.get(Figure.QUEUE_WAIT_NANOS_MAX) >= s.queueWaitMeanNanos());
        } else {
          assertEquals(0, written);
          assertEquals(0, sampled);
        }
      } finally {
        channel.shutdownNow();
        server.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    LeanLeases.assertNoneLeased();
  }
}
