package dev.grpclean.bench;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.sun.tools.attach.VirtualMachine;
import dev.grpclean.transport.LeanConnectionStats;
import dev.grpclean.transport.LeanStatsMXBean;
import dev.grpclean.transport.QpsDoctor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import javax.management.JMX;
import javax.management.MBeanServerConnection;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * {@code bench doctor --pid N} / {@code --jmx HOST:PORT}: samples the {@code LeanStatsMXBean} of
 * every lean server and channel in another JVM (reached by the JDK's attach API, which starts
 * that JVM's local JMX agent, or by its JMX port) and prints each one's verdicts.
 *
 * <p>Runs on the calling thread.
 */
final class RemoteDoctor {
  /** How often the sample asks the other JVM for PING round trips (as the local doctor does). */
  private static final long PROBE_INTERVAL_MILLIS = 250;

  private RemoteDoctor() {}

  /**
   * A JMX connection to JVM {@code pid} on this machine, through its local management agent.
   * JMX over RMI deserializes what the other end sends: the user names the JVM, one they run.
   */
  @SuppressWarnings("BanJNDI")
  static JMXConnector attach(long pid) throws IOException {
    String url;
    try {
      VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
      try {
        url = vm.startLocalManagementAgent();
      } finally {
        vm.detach();
      }
    } catch (com.sun.tools.attach.AttachNotSupportedException e) {
      throw new IOException("cannot attach to JVM " + pid + ": " + e.getMessage(), e);
    }
    return JMXConnectorFactory.connect(new JMXServiceURL(url));
  }

  /**
   * A JMX connection to {@code hostPort} (a JVM run with {@code
   * -Dcom.sun.management.jmxremote.port}); as for {@link #attach}, a JVM the user names.
   */
  @SuppressWarnings("BanJNDI")
  static JMXConnector connect(String hostPort) throws IOException {
    return JMXConnectorFactory.connect(
        new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + hostPort + "/jmxrmi"));
  }

  /**
   * Samples every lean MBean on {@code conn} for {@code seconds} and prints the verdicts; with a
   * {@code chart} path, also draws the sampled series there ({@link DoctorChart}, one row per
   * MBean).
   *
   * @return false when the JVM has no lean server or channel
   */
  static boolean sample(MBeanServerConnection conn, String what, double seconds, boolean json,
      @javax.annotation.Nullable Path chart, PrintWriter out)
      throws IOException, InterruptedException {
    TreeSet<ObjectName> names = new TreeSet<>(conn.queryNames(pattern(), null));
    if (names.isEmpty()) {
      return false;
    }
    Map<ObjectName, LeanStatsMXBean> beans = new LinkedHashMap<>();
    Map<ObjectName, DoctorChart.Side> sides = new LinkedHashMap<>();
    for (ObjectName n : names) {
      LeanStatsMXBean bean = JMX.newMXBeanProxy(conn, n, LeanStatsMXBean.class);
      beans.put(n, bean);
      sides.put(n, new DoctorChart.Side(n.getKeyProperty("type") + " " + n.getKeyProperty("id")));
    }
    snapshotAll(beans, sides);
    long end = System.nanoTime() + (long) (seconds * 1e9);
    while (true) {
      for (LeanStatsMXBean bean : beans.values()) {
        bean.probeRoundTrips();
      }
      long left = end - System.nanoTime();
      if (left > 0) {
        Thread.sleep(Math.min(PROBE_INTERVAL_MILLIS, TimeUnit.NANOSECONDS.toMillis(left) + 1));
      }
      snapshotAll(beans, sides);
      if (System.nanoTime() - end >= 0) {
        break;
      }
    }
    if (chart != null) {
      DoctorChart.write("qps-doctor " + what, new ArrayList<>(sides.values()), chart);
    }
    JsonObject all = new JsonObject();
    all.addProperty("jvm", what);
    all.addProperty("sampledSeconds", seconds);
    JsonArray list = new JsonArray();
    if (!json) {
      out.printf(Locale.ROOT, "qps-doctor: %s, %d lean server(s)/channel(s), %.1f s sampled%n",
          what, names.size(), seconds);
    }
    for (Map.Entry<ObjectName, DoctorChart.Side> e : sides.entrySet()) {
      List<LeanConnectionStats> samples = e.getValue().samples;
      LeanConnectionStats earlier = samples.get(0);
      LeanConnectionStats after = samples.get(samples.size() - 1);
      List<QpsDoctor.Verdict> verdicts = QpsDoctor.diagnose(earlier, after);
      if (json) {
        JsonObject o = DoctorCommand.side(verdicts, after.minus(earlier));
        o.addProperty("mbean", e.getKey().toString());
        list.add(o);
      } else {
        out.println(e.getKey() + ":");
        out.print(DoctorCommand.indent(QpsDoctor.report(verdicts)));
      }
    }
    if (chart != null && json) {
      all.addProperty("chart", chart.toString());
    } else if (chart != null) {
      out.println("chart: " + chart);
    }
    if (json) {
      all.add("sides", list);
      out.println(new GsonBuilder().setPrettyPrinting().create().toJson(all));
    }
    out.flush();
    return true;
  }

  private static void snapshotAll(Map<ObjectName, LeanStatsMXBean> beans,
      Map<ObjectName, DoctorChart.Side> sides) {
    for (Map.Entry<ObjectName, LeanStatsMXBean> e : beans.entrySet()) {
      sides.get(e.getKey()).samples.add(
          LeanConnectionStats.fromArrays(e.getValue().getSnapshot()));
    }
  }

  private static ObjectName pattern() {
    try {
      return new ObjectName("dev.grpclean:*");
    } catch (MalformedObjectNameException e) {
      throw new AssertionError(e);
    }
  }

}
