package dev.grpclean.transport;

import java.nio.ByteBuffer;

/**
 * Small fixtures shared by the tests that drive a {@link LoopyWriter} with counting on: a leased
 * chunk of DATA, a stream listener that ignores its callbacks, and a snapshot of the counters at a
 * given instant. Test thread only, like the writers they serve.
 */
final class WriterFixtures {
  /** A stream listener for tests that read the counters, not the stream's callbacks. */
  static final OutboundStream.Listener IGNORING_LISTENER =
      new OutboundStream.Listener() {
        @Override
        public void onDataSent(int bytes) {}

        @Override
        public void onOutboundClosed() {}
      };

  private WriterFixtures() {}

  /** A heap lease of {@code bytes} zeros, ready to read; the writer releases it. */
  static ByteBuffer chunk(int bytes) {
    ByteBuffer b = LeanBuffers.leaseHeap(bytes);
    b.put(new byte[bytes]).flip();
    return b;
  }

  /** The figures {@code counters} report at {@code nowNanos}, with {@code writer}'s queue depth. */
  static LeanConnectionStats snapshot(
      ConnectionCounters counters, LoopyWriter writer, long nowNanos) {
    LeanConnectionStats.Builder b = LeanConnectionStats.builder(nowNanos);
    counters.addTo(b, nowNanos, writer.controlQueueDepth(), true);
    return b.build();
  }
}
