package dev.grpclean.alts.handshake;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts one server credentials' handshakes in progress, across all its connections and loop
 * threads, and refuses a new one beyond the cap: handshake work (X25519, a signature, PKIX) runs
 * on the loop thread before the client has proven anything, so a flood of handshakes must not be
 * able to take the loops from established connections.
 *
 * <p>Thread-safe (one atomic counter).
 */
final class HandshakeLimiter {
  private final int max;
  private final AtomicInteger inProgress = new AtomicInteger();

  HandshakeLimiter(int max) {
    this.max = max;
  }

  /** Takes a slot; false if {@code max} handshakes are already in progress. */
  boolean tryAcquire() {
    while (true) {
      int n = inProgress.get();
      if (n >= max) {
        return false;
      }
      if (inProgress.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** Gives back a slot taken by {@link #tryAcquire}; exactly once per slot. */
  void release() {
    inProgress.decrementAndGet();
  }

  int max() {
    return max;
  }

  /** Handshakes in progress now. */
  int inProgress() {
    return inProgress.get();
  }
}
