package dev.grpclean.transport;

import com.google.common.base.MoreObjects;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.grpclean.transport.io.EventLoop;
import dev.grpclean.transport.io.EventLoopGroup;
import io.grpc.InternalChannelz.SocketStats;
import io.grpc.InternalInstrumented;
import io.grpc.internal.InternalServer;
import io.grpc.internal.ObjectPool;
import io.grpc.internal.ServerListener;
import io.grpc.internal.ServerTransportListener;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;

/**
 * A listening socket. Accepting runs on one loop of the group; each accepted connection is handed
 * to the next loop round-robin, where it stays.
 *
 * <p>Thread-safe: {@link #start} and {@link #shutdown} from any thread; the accept path runs on
 * the accept loop.
 */
final class LeanServer implements InternalServer {
  private static final Logger log = Logger.getLogger(LeanServer.class.getName());
  /** Accept backlog: the kernel queues this many connections while the accept loop is busy. */
  private static final int BACKLOG = 1024;
  /** At most one log line a minute while the connection cap refuses connections. */
  private static final long REFUSAL_LOG_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

  final ServerConfig config;
  private final SocketAddress requestedAddress;
  private final ObjectPool<EventLoopGroup> groupPool;
  /**
   * Transports accepted and not yet closed: a count, not a set (nothing iterates them; a set cost
   * a map node per connection). Each transport leaves it once, from {@link #transportClosed}
   * (guarded by the transport's own terminated flag) or when its loop refused to start it.
   */
  private final java.util.concurrent.atomic.AtomicInteger transports =
      new java.util.concurrent.atomic.AtomicInteger();
  private final Object lock = new Object();
  /** Set in start() before the accept loop sees the socket; read-only afterwards. */
  private EventLoopGroup group;
  private EventLoop acceptLoop;
  private ServerSocketChannel serverChannel;
  private volatile SocketAddress boundAddress;
  private ServerListener listener;
  @GuardedBy("lock")
  private boolean shutdown;
  @GuardedBy("lock")
  private boolean groupReturned;
  /** Connections refused at the cap since the last log line. Accept loop only. */
  private long refusedSinceLog;
  /** When the cap last produced a log line; 0 before the first. Accept loop only. */
  private long lastRefusalLogNanos;

  LeanServer(ServerConfig config, SocketAddress address, ObjectPool<EventLoopGroup> groupPool) {
    this.config = config;
    this.requestedAddress = address;
    this.groupPool = groupPool;
  }

  @Override
  public void start(ServerListener listener) throws IOException {
    this.listener = listener;
    ServerSocketChannel ch;
    if (requestedAddress instanceof UnixDomainSocketAddress) {
      ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    } else {
      ch = ServerSocketChannel.open();
      ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
    }
    try {
      ch.bind(requestedAddress, BACKLOG);
      ch.configureBlocking(false);
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    serverChannel = ch;
    boundAddress = ch.getLocalAddress();
    group = groupPool.getObject();
    config.settings.statsGroup.retain(this, "LeanServer");
    acceptLoop = group.next();
    acceptLoop.execute(() -> {
      try {
        acceptLoop.register(ch, SelectionKey.OP_ACCEPT, key -> acceptAll());
      } catch (IOException e) {
        log.log(Level.WARNING, "cannot register listening socket", e);
      }
    });
  }

  private void acceptAll() {
    while (true) {
      SocketChannel ch;
      try {
        ch = serverChannel.accept();
      } catch (IOException e) {
        // EMFILE and friends: log and let the next readiness event retry.
        log.log(Level.WARNING, "accept failed on " + boundAddress, e);
        return;
      }
      if (ch == null) {
        return;
      }
      if (transports.get() >= config.maxConnections) {
        refuse(ch);
        continue;
      }
      try {
        ch.configureBlocking(false);
        if (!(boundAddress instanceof UnixDomainSocketAddress)) {
          ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        }
      } catch (IOException e) {
        closeQuietly(ch);
        continue;
      }
      EventLoop loop = group.next();
      LeanServerTransport transport = new LeanServerTransport(this, loop, ch);
      transports.incrementAndGet();
      try {
        loop.execute(() -> {
          try {
            ServerTransportListener transportListener = listener.transportCreated(transport);
            transport.start(transportListener);
          } catch (Throwable t) {
            // E.g. the handshaker's first flight threw: the connection closes (and leaves the
            // server's set) rather than sitting registered with nobody serving it.
            transport.onLoopFailure(t);
          }
        });
      } catch (RejectedExecutionException e) {
        transports.decrementAndGet();
        closeQuietly(ch);
      }
    }
  }

  /**
   * Closes a connection accepted past {@code maxConnections} at once, so the kernel's backlog does
   * not fill with connections nobody serves; the client sees the close as UNAVAILABLE and may
   * retry elsewhere. Logs the first refusal, then at most once a minute with a count.
   */
  private void refuse(SocketChannel ch) {
    closeQuietly(ch);
    refusedSinceLog++;
    long now = System.nanoTime();
    if (lastRefusalLogNanos == 0 || now - lastRefusalLogNanos >= REFUSAL_LOG_INTERVAL_NANOS) {
      log.log(Level.WARNING, "{0}: refused {1} connection(s): {2} open, the maxConnections cap",
          new Object[] {this, refusedSinceLog, config.maxConnections});
      refusedSinceLog = 0;
      lastRefusalLogNanos = now == 0 ? 1 : now;
    }
  }

  /** A transport finished; the group goes back once the server is down and all are gone. */
  void transportClosed(LeanServerTransport transport) {
    transports.decrementAndGet();
    maybeReturnGroup();
  }

  private void maybeReturnGroup() {
    synchronized (lock) {
      if (!shutdown || transports.get() != 0 || groupReturned || group == null) {
        return;
      }
      groupReturned = true;
    }
    groupPool.returnObject(group);
  }

  @Override
  public void shutdown() {
    synchronized (lock) {
      if (shutdown) {
        return;
      }
      shutdown = true;
    }
    if (serverChannel == null) {
      return;
    }
    Runnable close = () -> {
      if (acceptLoop.inEventLoop()) {
        try {
          // Frees the port before grpc-core hears the server is down (a restart may rebind it).
          acceptLoop.closeRegistered(serverChannel);
        } catch (IOException e) {
          log.log(Level.FINE, "closing the listening socket", e);
        }
      } else {
        closeQuietly(serverChannel); // the loop has stopped: its selector released the key
      }
      if (boundAddress instanceof UnixDomainSocketAddress) {
        try {
          java.nio.file.Files.deleteIfExists(((UnixDomainSocketAddress) boundAddress).getPath());
        } catch (IOException e) {
          log.log(Level.FINE, "cannot delete socket file", e);
        }
      }
      // Before serverShutdown: once grpc-core hears of it, awaitTermination may return.
      config.settings.statsGroup.release(this);
      listener.serverShutdown();
      maybeReturnGroup();
    };
    try {
      acceptLoop.execute(close);
    } catch (RejectedExecutionException e) {
      close.run();
    }
  }

  @Override
  public SocketAddress getListenSocketAddress() {
    return boundAddress != null ? boundAddress : requestedAddress;
  }

  @Override
  @Nullable
  public InternalInstrumented<SocketStats> getListenSocketStats() {
    return null;
  }

  @Override
  public List<? extends SocketAddress> getListenSocketAddresses() {
    return Collections.singletonList(getListenSocketAddress());
  }

  @Override
  @Nullable
  public List<InternalInstrumented<SocketStats>> getListenSocketStatsList() {
    return null;
  }

  @Override
  public String toString() {
    return MoreObjects.toStringHelper(this).add("address", getListenSocketAddress()).toString();
  }

  private static void closeQuietly(java.io.Closeable c) {
    try {
      c.close();
    } catch (IOException ignored) {
      // nothing to do
    }
  }
}
