package dev.grpclean.transport.pool;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;

/**
 * Records where each outstanding lease of a pool was taken, for leak-detection mode.
 *
 * <p>Keyed by identity on purpose: {@link ByteBuffer#equals} and {@link ByteBuffer#hashCode}
 * compare the remaining contents, which change while the buffer is leased and are equal for any
 * two empty buffers, so a hash map would lose or confuse leases.
 *
 * <p>Capturing a stack trace per lease costs microseconds, which is why this is off outside tests.
 *
 * <p>Thread-safe.
 */
final class LeakTracker {
  private final String poolName;

  @GuardedBy("this")
  private final IdentityHashMap<ByteBuffer, LeaseSite> sites = new IdentityHashMap<>();

  LeakTracker(String poolName) {
    this.poolName = poolName;
  }

  /** Records that {@code buffer} was just leased by the calling thread. */
  void recordLease(ByteBuffer buffer) {
    // Capture outside the lock: filling in the stack trace is the slow part.
    LeaseSite site = new LeaseSite(
        PoolStats.formatBytes(buffer.capacity()) + " lease from pool '" + poolName
            + "' on thread " + Thread.currentThread().getName());
    synchronized (this) {
      sites.put(buffer, site);
    }
  }

  /** Forgets {@code buffer}'s lease; returns false if it is not outstanding. */
  boolean recordRelease(ByteBuffer buffer) {
    synchronized (this) {
      return sites.remove(buffer) != null;
    }
  }

  /** Describes each outstanding lease: its size class and the stack that took it. */
  List<String> describeOutstanding() {
    List<LeaseSite> copy;
    synchronized (this) {
      copy = new ArrayList<>(sites.values());
    }
    List<String> descriptions = new ArrayList<>(copy.size());
    for (LeaseSite site : copy) {
      StringWriter text = new StringWriter();
      site.printStackTrace(new PrintWriter(text));
      descriptions.add(text.toString());
    }
    return descriptions;
  }

  /** Not thrown; exists only to carry the stack trace of a lease. */
  private static final class LeaseSite extends Throwable {
    LeaseSite(String message) {
      super(message);
    }
  }
}
