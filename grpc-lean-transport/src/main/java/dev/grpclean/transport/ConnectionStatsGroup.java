package dev.grpclean.transport;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.google.common.util.concurrent.MoreExecutors;
import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.io.EventLoop;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The connections of one server or one channel (every server, or channel, built from one builder):
 * {@link #snapshot()} sums their {@link ConnectionCounters}, closed connections included. Reach it
 * with {@code LeanServerBuilder.connectionStats()} or {@code LeanChannelBuilder.connectionStats()}.
 *
 * <p>A snapshot reads each open connection's counters on that connection's loop thread (the
 * counters are plain fields confined there) and waits for the answers, so call it from an
 * application or monitoring thread, not from a transport thread. A connection that closes while a
 * snapshot is being taken may be missing from that one snapshot (never counted twice).
 *
 * <p>Thread-safe.
 */
public final class ConnectionStatsGroup {
  /** How long a snapshot waits for a busy loop to answer before it leaves that connection out. */
  private static final long LOOP_ANSWER_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
  /**
   * Whether connections count by default: {@code -Dgrpclean.connectionCounters=false} turns every
   * connection's counters (and the poller threads' figures) off unless a builder says otherwise.
   */
  static final boolean COUNTING_BY_DEFAULT =
      !"false".equalsIgnoreCase(System.getProperty("grpclean.connectionCounters", "true"));

  /** Set before the connections exist (on the builder), read by each connection as it starts. */
  private volatile boolean counting = COUNTING_BY_DEFAULT;
  private final Object lock = new Object();
  /**
   * What the application's executor did; null until a builder is given an executor it can see
   * (about 0.5 KiB, and most channels and servers use grpc-core's default executor).
   */
  @GuardedBy("lock")
  @javax.annotation.Nullable
  private TimedExecutor.Stats executorStats;

  /**
   * The open connections, each at the index it keeps in {@link ConnectionCounters#groupIndex}:
   * adding and removing are O(1) without a map node per connection (a concurrent set cost 32
   * bytes per connection, and its table about 0.2 KiB per channel).
   */
  @GuardedBy("lock")
  private Http2Connection[] open = NO_CONNECTIONS;
  @GuardedBy("lock")
  private int openCount;
  private static final Http2Connection[] NO_CONNECTIONS = new Http2Connection[0];
  /**
   * The closed connections' total; null until the first one closes. Lazy because a channel has a
   * group of its own, and an empty total is four arrays (about 0.9 KiB) per idle channel.
   */
  @GuardedBy("lock")
  private LeanConnectionStats.Builder closed;
  @GuardedBy("lock")
  private long opened;

  /** The MBean type of a channel's group (see {@link #retain}). */
  static final String CHANNEL_TYPE = "LeanChannel";
  /** Numbers the groups' MBeans ({@code id=N}) in the order they are first registered. */
  private static final java.util.concurrent.atomic.AtomicInteger MBEAN_IDS =
      new java.util.concurrent.atomic.AtomicInteger();
  /**
   * Servers and channel transport factories using this group now (by identity; a list because
   * there are one or a few); the MBean lives while any do.
   */
  @GuardedBy("lock")
  private final ArrayList<Object> users = new ArrayList<>(1);
  @GuardedBy("lock")
  @javax.annotation.Nullable
  private javax.management.ObjectName objectName;

  /** Index in {@link ChannelsStatsMBean}'s list while this channel group is in it, else -1. */
  @GuardedBy("ChannelsStatsMBean.LOCK")
  int channelsIndex = -1;

  /** Set once a channel built from this group's builder was given metric sinks; else null. */
  private volatile LeanMetrics metrics;

  ConnectionStatsGroup() {}

  /**
   * Reports this group through {@code sinks} (grpc-java's metrics API) from now on, labelled with
   * {@code target}; the first call wins (every channel of a builder has the same sinks).
   */
  void reportTo(List<io.grpc.MetricSink> sinks, String target) {
    if (sinks.isEmpty()) {
      return;
    }
    synchronized (lock) {
      if (metrics == null) {
        metrics = new LeanMetrics(this, sinks, target);
        if (!users.isEmpty()) {
          metrics.start();
        }
      }
    }
  }

  /**
   * {@code user} (a server, or a channel's transport factory) starts using this group: the first
   * one registers the group's {@link LeanStatsMXBean} as {@code dev.grpclean:type=<type>,id=N};
   * a channel's group ({@code type} {@value #CHANNEL_TYPE}) joins {@link ChannelsStatsMBean}
   * instead, unless {@code -Dgrpclean.channelMBeans=true}. A platform without JMX only logs.
   */
  void retain(Object user, String type) {
    synchronized (lock) {
      if (indexOf(users, user) >= 0) {
        return;
      }
      users.add(user);
      if (users.size() > 1) {
        return;
      }
      if (metrics != null) {
        metrics.start();
      }
      if (CHANNEL_TYPE.equals(type) && !ChannelsStatsMBean.perChannel()) {
        objectName = ChannelsStatsMBean.join(this);
        return;
      }
      try {
        javax.management.ObjectName name = new javax.management.ObjectName(
            "dev.grpclean:type=" + type + ",id=" + MBEAN_IDS.incrementAndGet());
        // Registered as it is (an MXBean by its interface's name), without a StandardMBean
        // wrapper, which would keep an MBeanInfo of its own per group.
        ManagementFactory.getPlatformMBeanServer().registerMBean(new MBean(this), name);
        objectName = name;
      } catch (javax.management.JMException | RuntimeException e) {
        java.util.logging.Logger.getLogger(ConnectionStatsGroup.class.getName()).log(
            java.util.logging.Level.FINE, "cannot register the stats MBean", e);
      }
    }
  }

  /** {@code user} shut down: the last one unregisters the MBean. */
  void release(Object user) {
    synchronized (lock) {
      int i = indexOf(users, user);
      if (i < 0) {
        return;
      }
      users.remove(i);
      if (!users.isEmpty()) {
        return;
      }
      if (metrics != null) {
        metrics.stop();
      }
      // A channel's group leaves the channels' sum (nothing if it never joined it).
      ChannelsStatsMBean.leave(this);
      if (objectName == null) {
        return;
      }
      if (ChannelsStatsMBean.OBJECT_NAME.equals(objectName.getCanonicalName())) {
        objectName = null;
        return;
      }
      try {
        ManagementFactory.getPlatformMBeanServer().unregisterMBean(objectName);
      } catch (javax.management.JMException | RuntimeException e) {
        java.util.logging.Logger.getLogger(ConnectionStatsGroup.class.getName()).log(
            java.util.logging.Level.FINE, "cannot unregister the stats MBean", e);
      }
      objectName = null;
    }
  }

  private static int indexOf(List<Object> list, Object o) {
    for (int i = 0; i < list.size(); i++) {
      if (list.get(i) == o) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The name this group's figures are registered under now, or null while nothing uses it: a
   * server's own MBean; for a channel, the channels' shared {@code dev.grpclean:type=LeanChannels}
   * (or its own {@code type=LeanChannel,id=N} with {@code -Dgrpclean.channelMBeans=true}).
   */
  @javax.annotation.Nullable
  public javax.management.ObjectName objectName() {
    synchronized (lock) {
      return objectName;
    }
  }

  /** The MBean: snapshots on demand. Thread-safe. */
  private static final class MBean implements LeanStatsMXBean {
    private final ConnectionStatsGroup group;

    MBean(ConnectionStatsGroup group) {
      this.group = group;
    }

    @Override
    public java.util.Map<String, long[]> getSnapshot() {
      return group.snapshot().toArrays();
    }

    @Override
    public void probeRoundTrips() {
      group.probeRoundTrips();
    }
  }

  /** Whether new connections count; see {@code connectionCounters} on the builders. */
  void setCounting(boolean on) {
    counting = on;
  }

  boolean counting() {
    return counting;
  }

  /** Counters for a new connection: on or off as this group says now. Any thread. */
  ConnectionCounters newCounters() {
    return new ConnectionCounters(counting);
  }

  /**
   * {@code executor} as grpc-core should be given it: wrapped so this group sees its queueing,
   * unless it is null (grpc-core's default pool) or the direct executor (which grpc-core
   * recognises by identity, and which has no queue).
   */
  @javax.annotation.Nullable
  Executor timed(@javax.annotation.Nullable Executor executor) {
    if (executor == null || executor == MoreExecutors.directExecutor()
        || executor instanceof TimedExecutor) {
      return executor;
    }
    TimedExecutor.Stats stats;
    synchronized (lock) {
      if (executorStats == null) {
        executorStats = new TimedExecutor.Stats();
      }
      stats = executorStats;
    }
    return new TimedExecutor(executor, stats);
  }

  /** A connection was created (any thread). */
  void register(Http2Connection c) {
    synchronized (lock) {
      opened++;
      if (openCount == open.length) {
        open = java.util.Arrays.copyOf(open, Math.max(1, openCount * 2));
      }
      open[openCount] = c;
      c.counters.groupIndex = openCount++;
    }
  }

  /**
   * A client connection of the group was established, from {@code local} to {@code peer} (either
   * null if unknown): the metrics count it (A80's connection counters, with the addresses as
   * labels). Any thread.
   *
   * @return the labels to count it out with when it closes ({@link
   *     Http2Connection#metricsLabels}), or null if the group reports no metrics
   */
  @javax.annotation.Nullable
  List<String> connected(@javax.annotation.Nullable java.net.SocketAddress local,
      @javax.annotation.Nullable java.net.SocketAddress peer) {
    LeanMetrics m = metrics;
    return m == null ? null : m.connectionOpened(local, peer);
  }

  /**
   * {@code c} closed: its final figures join the closed total in the same step that takes it out
   * of the open list, so that a snapshot never finds it in neither. Its loop thread.
   */
  void retire(Http2Connection c) {
    LeanConnectionStats last = c.statsNow(System.nanoTime());
    synchronized (lock) {
      if (!removeOpen(c)) {
        return;
      }
      if (closed == null) {
        closed = LeanConnectionStats.builder(0);
      }
      closed.addAll(last);
    }
    LeanMetrics m = metrics;
    List<String> labels = c.metricsLabels();
    if (m != null && labels != null) {
      m.connectionClosed(labels);
    }
  }

  /** Takes {@code c} out of {@link #open} (the last connection fills its slot). */
  @GuardedBy("lock")
  private boolean removeOpen(Http2Connection c) {
    int i = c.counters.groupIndex;
    if (!isOpen(c)) {
      return false;
    }
    Http2Connection last = open[--openCount];
    open[openCount] = null;
    open[i] = last;
    last.counters.groupIndex = i;
    c.counters.groupIndex = -1;
    // After a burst of connections closed, let the burst's array go.
    if (open.length > 64 && openCount < open.length / 4) {
      open = java.util.Arrays.copyOf(open, open.length / 2);
    }
    return true;
  }

  @GuardedBy("lock")
  private boolean isOpen(Http2Connection c) {
    int i = c.counters.groupIndex;
    return i >= 0 && i < openCount && open[i] == c;
  }

  private boolean stillOpen(Http2Connection c) {
    synchronized (lock) {
      return isOpen(c);
    }
  }

  /** The open connections now, copied. */
  private List<Http2Connection> openNow() {
    synchronized (lock) {
      return java.util.Arrays.asList(java.util.Arrays.copyOf(open, openCount));
    }
  }

  /**
   * PING payload of {@link #probeRoundTrips}: "leanRTTp", unlike the keepalive and shutdown
   * pings, so the transports ignore its ack beyond timing it.
   */
  static final long ROUND_TRIP_PROBE_PING = 0x6c65616e52545470L;

  /**
   * Sends one PING on every open connection that is up (the peer's SETTINGS arrived), so the
   * next snapshot has a round-trip time (and the {@link QpsDoctor} a bandwidth-delay product)
   * even when keepalive is off. The PING queues behind what each connection is already sending,
   * so under load it measures the round trip the data sees. A server's connections are probed at
   * every call (clients accept server PINGs) unless a PING of theirs still awaits its ack, whose
   * clock a second PING would restart. A channel's connections are probed within what
   * servers accept from clients ({@link ClientConnection#takeRoundTripProbeTurn}): only after the
   * server sent HEADERS or DATA since the last probe and with no ack awaited, so a channel that
   * downloads is probed about as often as asked and an idle one not at all. Returns once the
   * PINGs are queued; their acks arrive a round trip later.
   */
  public void probeRoundTrips() {
    for (Http2Connection c : openNow()) {
      if (c instanceof ServerConnection) {
        c.loop.executeOrDrop(() -> {
          // One PING timed at a time: a second one would restart the clock of the first.
          if (c.settings.peerSettingsReceived && !c.closed && !c.counters.pingAwaitingAck()) {
            c.sendControl(new ControlFrame.Ping(false, ROUND_TRIP_PROBE_PING));
          }
        });
      } else if (c instanceof ClientConnection) {
        ClientConnection cc = (ClientConnection) c;
        c.loop.executeOrDrop(() -> {
          if (cc.takeRoundTripProbeTurn()) {
            cc.sendControl(new ControlFrame.Ping(false, ROUND_TRIP_PROBE_PING));
          }
        });
      }
    }
  }

  /** The connections open now (tests look at them on their loops). */
  Iterable<Http2Connection> openConnections() {
    return openNow();
  }

  /** The summed figures of every connection this group has seen, now. */
  public LeanConnectionStats snapshot() {
    return snapshotOf(List.of(this));
  }

  /**
   * The summed figures of every connection {@code groups} have seen, now; the process-wide
   * figures (loop threads, GC) once, however many groups.
   */
  static LeanConnectionStats snapshotOf(List<ConnectionStatsGroup> groups) {
    long now = System.nanoTime();
    LeanConnectionStats.Builder sum = LeanConnectionStats.builder(now);
    long openedCount = 0;
    List<Http2Connection> openConnections = new ArrayList<>();
    List<TimedExecutor.Stats> execStats = new ArrayList<>(1);
    for (ConnectionStatsGroup g : groups) {
      synchronized (g.lock) {
        // The closed total and the open list together: a connection retiring after this is in
        // the list and not in the total read here, so its loop task below counts its figures
        // (final ones by then) whether or not it is still open; only its liveness depends on it.
        if (g.closed != null) {
          sum.addAll(g.closed.build());
        }
        openedCount += g.opened;
        openConnections.addAll(java.util.Arrays.asList(g.open).subList(0, g.openCount));
        if (g.executorStats != null) {
          execStats.add(g.executorStats);
        }
      }
    }
    List<CompletableFuture<LoopAnswer>> answers = new ArrayList<>(openConnections.size());
    Set<EventLoop> loops = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Http2Connection c : openConnections) {
      loops.add(c.loop);
      CompletableFuture<LoopAnswer> f = new CompletableFuture<>();
      ConnectionStatsGroup g = c.config.statsGroup;
      Runnable task = () -> f.complete(
          new LoopAnswer(c.statsNow(System.nanoTime()), g.stillOpen(c)));
      if (c.loop.inEventLoop()) {
        task.run();
      } else {
        c.loop.executeOrRunHere(task);
      }
      answers.add(f);
    }
    long deadline = System.nanoTime() + LOOP_ANSWER_TIMEOUT_NANOS;
    long live = 0;
    for (CompletableFuture<LoopAnswer> f : answers) {
      LoopAnswer a = await(f, deadline);
      if (a != null) {
        sum.addAll(a.stats());
        live += a.open() ? 1 : 0;
      }
    }
    sum.add(Figure.CONNECTIONS_OPEN, live);
    sum.add(Figure.CONNECTIONS_OPENED, openedCount);
    long loopNow = System.nanoTime();
    for (EventLoop loop : loops) {
      sum.add(Figure.LOOP_THREADS, 1);
      sum.add(Figure.LOOP_CHANNELS_OWNED, loop.stats().channelsOwned());
      sum.add(Figure.LOOP_BUSY_NANOS, loop.stats().busyNanos(loopNow));
      sum.add(Figure.LOOP_WAIT_NANOS, loop.stats().waitNanos(loopNow));
      sum.add(Figure.LOOP_TASKS_RUN, loop.stats().tasksRun());
      sum.add(Figure.LOOP_WAITS, loop.stats().waits());
      sum.add(Figure.LOOP_WAKEUPS, loop.stats().wakeups());
      sum.add(Figure.LOOP_YIELDS_BEFORE_FLUSH, loop.stats().yieldsBeforeFlush());
      sum.add(Figure.LOOP_FRUITFUL_YIELDS, loop.stats().fruitfulYields());
    }
    for (TimedExecutor.Stats e : execStats) {
      e.addTo(sum);
    }
    addGc(sum);
    return sum.build();
  }

  /** This JVM's stop-the-world collections so far (concurrent cycles' beans are skipped). */
  static void addGc(LeanConnectionStats.Builder sum) {
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (!isPauseCollector(gc.getName())) {
        continue;
      }
      long count = gc.getCollectionCount();
      long millis = gc.getCollectionTime();
      if (count > 0) {
        sum.add(Figure.GC_PAUSES, count);
      }
      if (millis > 0) {
        sum.add(Figure.GC_PAUSE_NANOS, TimeUnit.MILLISECONDS.toNanos(millis));
      }
    }
  }

  /**
   * Whether a collector bean's time is pause time: G1's and ZGC's / Shenandoah's beans for
   * concurrent work ("G1 Concurrent GC", "ZGC Major Cycles", "Shenandoah Cycles") report time the
   * application kept running.
   */
  static boolean isPauseCollector(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return !n.contains("concurrent") && !n.contains("cycles");
  }

  /** A connection's figures as its loop read them for a snapshot, and whether it was open. */
  private record LoopAnswer(LeanConnectionStats stats, boolean open) {}

  private static <T> T await(CompletableFuture<T> f, long deadlineNanos) {
    try {
      return f.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | TimeoutException e) {
      return null;
    }
  }
}
