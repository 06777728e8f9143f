package dev.grpclean.transport;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import java.util.function.LongSupplier;

/**
 * How long items wait in a {@link LoopyWriter}'s control queue, from being queued to being
 * encoded into the buffer the same drain writes, and how deep the queue is on average. Created
 * by {@link ConnectionCounters} once the connection is busy (an idle connection holds none).
 *
 * <p>Sampled and allocation-free: the queue is FIFO, so an item is identified by its sequence
 * number; one item in {@value #MIN_STRIDE} (fewer under a deep queue: the stride grows with the
 * depth, so the at most {@value #RING} pending samples spread over the whole queue) has its
 * enqueue time kept in a small ring and is timed when the same sequence number leaves. Each sample stands for the items since the
 * previous one (its weight), so the weighted mean is the mean wait per item. Two clock reads per
 * sample, none for the other items.
 *
 * <p>The time-weighted average depth comes from Little's law (average depth = arrival rate x
 * mean wait): the items that left times their mean wait estimates the integral of the depth over
 * the time observed, which needs no clock read per item.
 *
 * <p>Confined to the connection's loop thread, like the counters that own it.
 */
final class ControlQueueWait {
  /** Samples that can be pending (queued, not yet written) at once. */
  static final int RING = 16;
  /** At most one item in this many is timed. */
  static final int MIN_STRIDE = 16;

  private final LongSupplier clock;
  private final long startNanos;
  /** Items queued since this object exists; the sequence number of the last one. */
  private long enqueued;
  /** Items that left; starts below 0 by the items already queued when counting began. */
  private long dequeued;
  /** The sequence number of the next item to time (or the first after a slot frees). */
  private long nextSample = 1;
  private long lastSampledSeq;
  private final long[] sampleSeq = new long[RING];
  private final long[] sampleAtNanos = new long[RING];
  private final int[] sampleWeight = new int[RING];
  private int head;
  private int pending;
  /** Items the finished samples stand for (the sum of their weights). */
  private long sampledItems;
  /** Sum over finished samples of wait x weight. */
  private long weightedWaitNanos;
  private long maxWaitNanos;

  /** Starts counting with {@code alreadyQueued} items in the queue (not timed). */
  ControlQueueWait(int alreadyQueued, LongSupplier clock) {
    this.clock = clock;
    this.startNanos = clock.getAsLong();
    this.dequeued = -Math.max(0, alreadyQueued);
  }

  /** An item joined the queue, which now holds {@code depth}. */
  void enqueued(int depth) {
    long seq = ++enqueued;
    if (seq < nextSample || pending == RING) {
      return;
    }
    int slot = (head + pending) % RING;
    sampleSeq[slot] = seq;
    sampleAtNanos[slot] = clock.getAsLong();
    sampleWeight[slot] = (int) Math.min(Integer.MAX_VALUE, seq - lastSampledSeq);
    pending++;
    lastSampledSeq = seq;
    // Under a deep queue the stride grows with the depth (half of it, all of it once the ring is
    // half full), so a burst of any size keeps samples spread over it rather than filling the
    // ring with its first items.
    nextSample = seq + Math.max(MIN_STRIDE, pending < RING / 2 ? depth / 2 : depth);
  }

  /** The oldest item left the queue (it was encoded for writing). */
  void dequeued() {
    long seq = ++dequeued;
    // FIFO: the head sample is the next to leave; an older one would mean items left unseen
    // (the queue was cleared as the connection closed), so it is dropped.
    while (pending != 0 && sampleSeq[head] < seq) {
      head = (head + 1) % RING;
      pending--;
    }
    if (pending != 0 && sampleSeq[head] == seq) {
      long wait = Math.max(0, clock.getAsLong() - sampleAtNanos[head]);
      int weight = sampleWeight[head];
      sampledItems += weight;
      weightedWaitNanos += wait * weight;
      if (wait > maxWaitNanos) {
        maxWaitNanos = wait;
      }
      head = (head + 1) % RING;
      pending--;
    }
  }

  /** Adds the figures up to {@code nowNanos}. */
  void addTo(LeanConnectionStats.Builder sum, long nowNanos) {
    long left = Math.max(0, dequeued);
    sum.add(Figure.QUEUE_ITEMS_WRITTEN, left);
    sum.add(Figure.QUEUE_WAIT_SAMPLED_ITEMS, sampledItems);
    sum.add(Figure.QUEUE_WAIT_NANOS, weightedWaitNanos);
    sum.max(Figure.QUEUE_WAIT_NANOS_MAX, maxWaitNanos);
    sum.add(Figure.QUEUE_OBSERVED_NANOS, Math.max(0, nowNanos - startNanos));
    sum.add(Figure.QUEUE_DEPTH_NANOS, sampledItems == 0 ? 0
        : (long) ((double) left * weightedWaitNanos / sampledItems));
  }
}
