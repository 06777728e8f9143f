package dev.grpclean.transport;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.grpclean.transport.io.EventLoopGroup;
import io.grpc.internal.ObjectPool;
import io.grpc.internal.SharedResourceHolder;
import io.grpc.internal.SharedResourcePool;

/**
 * Where transports get their poller threads: one process-wide group shared by every channel and
 * server that does not ask for its own (so 10,000 connections still cost a handful of threads),
 * or a dedicated group of a chosen size.
 *
 * <p>Thread-safe.
 */
final class SharedLoops {
  private SharedLoops() {}

  static final SharedResourceHolder.Resource<EventLoopGroup> SHARED_GROUP =
      new SharedResourceHolder.Resource<EventLoopGroup>() {
        @Override
        public EventLoopGroup create() {
          return new EventLoopGroup(EventLoopGroup.DEFAULT_THREADS, "grpc-lean-poller");
        }

        @Override
        public void close(EventLoopGroup group) {
          group.shutdownAndWait();
        }

        @Override
        public String toString() {
          return "grpc-lean-poller";
        }
      };

  static ObjectPool<EventLoopGroup> pool(int threads) {
    if (threads <= 0) {
      return SharedResourcePool.forResource(SHARED_GROUP);
    }
    return new Dedicated(threads);
  }

  /** A group owned by one channel or server: created on first use, stopped on return. */
  private static final class Dedicated implements ObjectPool<EventLoopGroup> {
    private final int threads;
    @GuardedBy("this")
    private EventLoopGroup group;

    Dedicated(int threads) {
      this.threads = threads;
    }

    @Override
    public synchronized EventLoopGroup getObject() {
      if (group == null) {
        group = new EventLoopGroup(threads, "grpc-lean-poller");
      }
      return group;
    }

    @Override
    public synchronized EventLoopGroup returnObject(Object object) {
      if (group != null && group == object) {
        EventLoopGroup g = group;
        group = null;
        // Stop from a fresh thread: the caller may be one of the group's own loops.
        Thread t = new Thread(g::shutdownAndWait, "grpc-lean-poller-stop");
        t.setDaemon(true);
        t.start();
      }
      return null;
    }
  }
}
