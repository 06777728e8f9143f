package dev.grpclean.transport.tls;

import dev.grpclean.transport.pool.Pools;
import java.nio.ByteBuffer;
import java.security.Provider;
import javax.annotation.Nullable;
import javax.net.ssl.SSLEngine;
import org.conscrypt.AllocatedBuffer;
import org.conscrypt.BufferAllocator;
import org.conscrypt.Conscrypt;

/**
 * Conscrypt, an optional dependency. Every use of its types sits in a nested class that is loaded
 * only after {@link #unavailableReason} returned null, so this class itself loads (and verifies)
 * without Conscrypt on the class path.
 *
 * <p>Thread-safe.
 */
final class ConscryptSupport {
  private ConscryptSupport() {}

  /** Null if Conscrypt loads and its native library works here; else why not. */
  @Nullable
  static String unavailableReason() {
    return Availability.REASON;
  }

  /** Conscrypt's provider, private to us (not installed in the JVM's provider list). */
  static Provider provider() {
    return Loaded.PROVIDER;
  }

  /**
   * Makes the engine take the direct buffers it needs for heap input (our pending-record arrays)
   * from the I/O pool for one call, instead of allocating a 16 KiB direct buffer that it would
   * keep for the connection's lifetime.
   */
  static void useLeasedBuffers(SSLEngine engine) {
    Loaded.useLeasedBuffers(engine);
  }

  private static final class Availability {
    static final String REASON = check();

    @Nullable
    private static String check() {
      try {
        Class.forName("org.conscrypt.Conscrypt", false, ConscryptSupport.class.getClassLoader());
      } catch (ClassNotFoundException | LinkageError e) {
        return "org.conscrypt:conscrypt-openjdk-uber is not on the class path";
      }
      try {
        // Conscrypt.isAvailable() hides the cause; this throws it.
        Conscrypt.checkAvailability();
        return null;
      } catch (LinkageError | RuntimeException e) {
        return "its native library did not load: " + e;
      }
    }
  }

  private static final class Loaded {
    static final Provider PROVIDER = Conscrypt.newProvider();

    static void useLeasedBuffers(SSLEngine engine) {
      if (Conscrypt.isConscrypt(engine)) {
        Conscrypt.setBufferAllocator(engine, PooledAllocator.INSTANCE);
      }
    }
  }

  /** Leases from the I/O pool; Conscrypt releases each buffer before its call returns. */
  private static final class PooledAllocator extends BufferAllocator {
    static final PooledAllocator INSTANCE = new PooledAllocator();

    @Override
    public AllocatedBuffer allocateDirectBuffer(int capacity) {
      ByteBuffer lease = Pools.io().lease(capacity);
      return new AllocatedBuffer() {
        @Override
        public ByteBuffer nioBuffer() {
          return lease;
        }

        @Override
        public AllocatedBuffer release() {
          Pools.io().release(lease);
          return this;
        }
      };
    }
  }
}
