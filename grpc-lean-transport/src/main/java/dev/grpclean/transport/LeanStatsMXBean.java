package dev.grpclean.transport;

import java.util.Map;

/**
 * The JMX view of one server's {@link ConnectionStatsGroup}, registered in the platform MBean
 * server as {@code dev.grpclean:type=LeanServer,id=N} while the server runs, and of all open
 * channels together as {@code dev.grpclean:type=LeanChannels} (or of each channel as {@code
 * dev.grpclean:type=LeanChannel,id=N} with {@code -Dgrpclean.channelMBeans=true}; see {@link
 * ConnectionStatsGroup#objectName()}). {@code scripts/qps-doctor --pid} reads them from another
 * JVM.
 *
 * <p>Thread-safe.
 */
public interface LeanStatsMXBean {
  /**
   * One snapshot ({@link ConnectionStatsGroup#snapshot()}) by name: every {@link
   * LeanConnectionStats.Figure} as a one-element array, every {@link
   * LeanConnectionStats.Histogram} as its buckets under {@code HISTOGRAM_<name>}, {@code
   * FRAMES_IN} and {@code FRAMES_OUT} by frame type, and {@code TAKEN_AT_NANOS} (that JVM's
   * {@link System#nanoTime} clock).
   */
  Map<String, long[]> getSnapshot();

  /**
   * {@link ConnectionStatsGroup#probeRoundTrips()}: one PING on every open server connection, and
   * on every channel connection the server sent stream frames on since its last probe.
   */
  void probeRoundTrips();
}
