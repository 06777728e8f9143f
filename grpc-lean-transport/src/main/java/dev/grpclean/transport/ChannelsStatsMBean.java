package dev.grpclean.transport;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.management.JMException;
import javax.management.ObjectName;

/**
 * The one stats MBean of all lean channels of the process, {@code dev.grpclean:type=LeanChannels}:
 * its snapshot sums every open channel's {@link ConnectionStatsGroup} (the process-wide figures,
 * loop threads and GC, once). Registered while at least one channel is open.
 *
 * <p>Why one for all channels rather than one each (as servers have): a registered MBean costs
 * about 0.5 KiB of heap (its name, the MXBean support objects, the MBean server's entry), which
 * was the largest part of what a lean channel adds to grpc-core's own, and a process with
 * thousands of channels (a fan-out client, a sidecar) would fill its MBean server with thousands
 * of names. {@code -Dgrpclean.channelMBeans=true} (read as each channel starts) gives every
 * channel its own {@code dev.grpclean:type=LeanChannel,id=N} instead; {@code
 * LeanChannelBuilder.connectionStats()} reports one channel in-process either way.
 *
 * <p>Thread-safe. Lock order: a group's lock, then {@link #LOCK}; never the other way round
 * (snapshots copy the list under {@link #LOCK} and take each group's lock afterwards).
 */
final class ChannelsStatsMBean implements LeanStatsMXBean {
  private static final Logger log = Logger.getLogger(ChannelsStatsMBean.class.getName());
  static final String OBJECT_NAME = "dev.grpclean:type=LeanChannels";

  private static final Object LOCK = new Object();
  /** The open channels' groups, each at the index it keeps ({@link #index}). */
  @GuardedBy("LOCK")
  private static final ArrayList<ConnectionStatsGroup> GROUPS = new ArrayList<>();
  @GuardedBy("LOCK")
  @javax.annotation.Nullable
  private static ObjectName registered;

  private ChannelsStatsMBean() {}

  /** Whether each channel registers an MBean of its own ({@code -Dgrpclean.channelMBeans}). */
  static boolean perChannel() {
    return Boolean.getBoolean("grpclean.channelMBeans");
  }

  /**
   * {@code group}'s channel opened: it joins the sum, and the first one registers the MBean.
   * Returns the MBean's name, or null where JMX refused it (only logged).
   */
  @javax.annotation.Nullable
  static ObjectName join(ConnectionStatsGroup group) {
    synchronized (LOCK) {
      if (group.channelsIndex < 0) {
        group.channelsIndex = GROUPS.size();
        GROUPS.add(group);
      }
      if (registered == null) {
        try {
          ObjectName name = new ObjectName(OBJECT_NAME);
          ManagementFactory.getPlatformMBeanServer().registerMBean(new ChannelsStatsMBean(), name);
          registered = name;
        } catch (JMException | RuntimeException e) {
          log.log(Level.FINE, "cannot register the channels' stats MBean", e);
        }
      }
      return registered;
    }
  }

  /** {@code group}'s channel closed: it leaves the sum; the last one unregisters the MBean. */
  static void leave(ConnectionStatsGroup group) {
    synchronized (LOCK) {
      int i = group.channelsIndex;
      if (i < 0) {
        return;
      }
      ConnectionStatsGroup last = GROUPS.remove(GROUPS.size() - 1);
      if (last != group) {
        GROUPS.set(i, last);
        last.channelsIndex = i;
      }
      group.channelsIndex = -1;
      if (GROUPS.isEmpty() && registered != null) {
        try {
          ManagementFactory.getPlatformMBeanServer().unregisterMBean(registered);
        } catch (JMException | RuntimeException e) {
          log.log(Level.FINE, "cannot unregister the channels' stats MBean", e);
        }
        registered = null;
      }
    }
  }

  /** The open channels' groups now, copied. */
  static List<ConnectionStatsGroup> groups() {
    synchronized (LOCK) {
      return new ArrayList<>(GROUPS);
    }
  }

  @Override
  public Map<String, long[]> getSnapshot() {
    return ConnectionStatsGroup.snapshotOf(groups()).toArrays();
  }

  /**
   * Probes every channel's connections, within what servers accept from clients (see {@link
   * ConnectionStatsGroup#probeRoundTrips}).
   */
  @Override
  public void probeRoundTrips() {
    for (ConnectionStatsGroup g : groups()) {
      g.probeRoundTrips();
    }
  }
}
