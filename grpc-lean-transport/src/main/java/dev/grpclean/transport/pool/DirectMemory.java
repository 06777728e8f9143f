package dev.grpclean.transport.pool;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import javax.annotation.Nullable;

/**
 * Frees a direct buffer's native memory now instead of when the GC finds the buffer unreachable
 * ({@code sun.misc.Unsafe.invokeCleaner}, looked up reflectively from {@code jdk.unsupported}).
 * For a pool that drops direct buffers under load: left to the GC, their memory stays allocated
 * (and counted as direct memory in use) until a collection happens to reach them, which for
 * buffers old enough to be promoted may take minutes.
 *
 * <p>Only for a buffer nobody references any more: any later access through it, or through a
 * view of it, reads freed memory. Where the method is missing, {@link #free} does nothing and
 * the GC frees the memory as before.
 *
 * <p>Thread-safe: stateless after class initialisation.
 */
final class DirectMemory {
  @Nullable private static final Object UNSAFE;
  @Nullable private static final Method INVOKE_CLEANER;

  static {
    Object unsafe = null;
    Method invokeCleaner = null;
    try {
      Class<?> type = Class.forName("sun.misc.Unsafe");
      Field field = type.getDeclaredField("theUnsafe");
      field.setAccessible(true);
      unsafe = field.get(null);
      invokeCleaner = type.getMethod("invokeCleaner", ByteBuffer.class);
    } catch (ReflectiveOperationException | RuntimeException e) {
      unsafe = null;
      invokeCleaner = null;
    }
    UNSAFE = unsafe;
    INVOKE_CLEANER = invokeCleaner;
  }

  private DirectMemory() {}

  /** Whether {@link #free} really frees (otherwise the GC does, later). */
  static boolean canFree() {
    return INVOKE_CLEANER != null;
  }

  /**
   * Frees {@code buffer}'s memory if this JVM allows it; returns whether it did. {@code buffer}
   * must be a direct buffer that owns its memory (not a slice or duplicate), referenced by no one.
   */
  static boolean free(ByteBuffer buffer) {
    if (INVOKE_CLEANER == null || !buffer.isDirect()) {
      return false;
    }
    try {
      INVOKE_CLEANER.invoke(UNSAFE, buffer);
      return true;
    } catch (ReflectiveOperationException e) {
      return false;
    }
  }
}
