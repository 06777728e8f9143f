package dev.grpclean.transport;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.grpclean.transport.LeanConnectionStats.Figure;
import io.grpc.CallbackMetricInstrument;
import io.grpc.LongCounterMetricInstrument;
import io.grpc.LongGaugeMetricInstrument;
import io.grpc.LongUpDownCounterMetricInstrument;
import io.grpc.MetricInstrument;
import io.grpc.MetricInstrumentRegistry;
import io.grpc.MetricSink;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;

/**
 * Reports a {@link ConnectionStatsGroup}'s figures through grpc-java's metrics API (gRFC A79) to
 * the {@link MetricSink}s a channel was given, so an application that configured {@code
 * grpc-opentelemetry} on a {@link LeanChannelBuilder} sees them with no code of its own.
 *
 * <p>Why sinks and not a {@code MetricRecorder}: grpc-java 1.79 hands transports none (its {@code
 * ClientTransportOptions} carry authority, user agent, attributes, proxy and logger only; the
 * channel's recorder reaches load-balancing policies and name resolvers alone), and a server has
 * neither sinks nor a recorder. What a channel builder does receive is every sink, through {@code
 * ManagedChannelBuilder.addMetricSink}, which {@code GrpcOpenTelemetry.configureChannelBuilder}
 * calls; {@link LeanChannelBuilder} keeps them for this class. The sinks are then driven the way
 * grpc-core drives them: a sink that has not yet seen an instrument's index is first given the
 * registry's instrument list ({@link MetricSink#updateMeasures}).
 *
 * <p>Figures: gRFC A80's {@code grpc.tcp.connections_created} (counter) and {@code
 * grpc.tcp.connection_count} (up-down counter), recorded as connections are established and
 * close, off by default as grpc-java registers them, with A80's optional labels {@code
 * network.local.address}, {@code network.local.port}, {@code network.peer.address} and {@code
 * network.peer.port} (the socket's addresses, numeric; empty for a Unix domain socket), which a
 * sink reports only if it enables them ({@link MetricSink#getOptionalLabels}); and callback gauges
 * under {@code grpc.lean.*}, on by default, read from one {@link ConnectionStatsGroup#snapshot()}
 * per collection. Every figure has the required label {@code grpc.target} (the channel's target).
 *
 * <p>Cost: the label values are made once per connection, when it is established, and only if
 * one of the sinks enables one of them; otherwise every event passes one shared list of empty
 * values. Nothing is done per call.
 *
 * <p>Thread-safe: connection events arrive on any thread (the sinks are thread-safe by contract);
 * the callbacks' registrations are guarded by this object's monitor.
 */
final class LeanMetrics {
  static final String TARGET_LABEL = "grpc.target";
  static final String LOCAL_ADDRESS_LABEL = "network.local.address";
  static final String LOCAL_PORT_LABEL = "network.local.port";
  static final String PEER_ADDRESS_LABEL = "network.peer.address";
  static final String PEER_PORT_LABEL = "network.peer.port";
  /** gRFC A80's optional labels of the TCP figures, in the order they are registered. */
  static final List<String> NETWORK_LABELS = Collections.unmodifiableList(Arrays.asList(
      LOCAL_ADDRESS_LABEL, LOCAL_PORT_LABEL, PEER_ADDRESS_LABEL, PEER_PORT_LABEL));

  static final LongCounterMetricInstrument CONNECTIONS_CREATED;
  static final LongUpDownCounterMetricInstrument CONNECTION_COUNT;
  /** The callback gauges, each with the figure it reports. */
  static final List<Gauge> GAUGES;

  /** One callback gauge: its instrument and how it is read from a snapshot. */
  static final class Gauge {
    final LongGaugeMetricInstrument instrument;
    final ToLongFunction<LeanConnectionStats> value;

    Gauge(LongGaugeMetricInstrument instrument, ToLongFunction<LeanConnectionStats> value) {
      this.instrument = instrument;
      this.value = value;
    }
  }

  static {
    MetricInstrumentRegistry registry = MetricInstrumentRegistry.getDefaultRegistry();
    List<String> required = Collections.singletonList(TARGET_LABEL);
    List<String> none = Collections.emptyList();
    // Another transport (a later grpc-netty) may have registered the A80 names first: share its
    // instruments rather than fail, as both report the same figure.
    LongCounterMetricInstrument created = existing(registry, "grpc.tcp.connections_created",
        LongCounterMetricInstrument.class);
    CONNECTIONS_CREATED = created != null ? created : registry.registerLongCounter(
        "grpc.tcp.connections_created", "Number of TCP connections created.", "{connection}",
        required, NETWORK_LABELS, false);
    LongUpDownCounterMetricInstrument count = existing(registry, "grpc.tcp.connection_count",
        LongUpDownCounterMetricInstrument.class);
    CONNECTION_COUNT = count != null ? count : registry.registerLongUpDownCounter(
        "grpc.tcp.connection_count", "Number of currently open TCP connections.", "{connection}",
        required, NETWORK_LABELS, false);
    List<Gauge> gauges = new ArrayList<>();
    gauges.add(new Gauge(gauge(registry, "grpc.lean.writer.queue_depth",
        "Items (control frames and header blocks) in the writers' control queues now.",
        "{item}", required, none, true), s -> s.get(Figure.QUEUE_DEPTH)));
    gauges.add(new Gauge(gauge(registry, "grpc.lean.flow.streams_blocked",
        "Streams with bytes to send and no send window from the peer now.",
        "{stream}", required, none, true), s -> s.get(Figure.STREAMS_BLOCKED_ON_WINDOW)));
    gauges.add(new Gauge(gauge(registry, "grpc.lean.flow.stream_window_blocked_time",
        "Cumulative time streams waited on the peer's stream windows (monotonic).",
        "ms", required, none, true),
        s -> TimeUnit.NANOSECONDS.toMillis(s.get(Figure.STREAM_WINDOW_BLOCKED_NANOS))));
    gauges.add(new Gauge(gauge(registry, "grpc.lean.socket.not_writable_time",
        "Cumulative time bytes waited for the socket's send buffer to drain (monotonic).",
        "ms", required, none, true),
        s -> TimeUnit.NANOSECONDS.toMillis(s.get(Figure.SOCKET_NOT_WRITABLE_NANOS))));
    gauges.add(new Gauge(gauge(registry, "grpc.lean.writer.queue_wait",
        "Mean sampled time frames waited in the writers' control queues since start.",
        "us", required, none, true),
        s -> TimeUnit.NANOSECONDS.toMicros(s.queueWaitMeanNanos())));
    GAUGES = Collections.unmodifiableList(gauges);
  }

  private final ConnectionStatsGroup group;
  private final List<MetricSink> sinks;
  private final List<String> target;
  /** Whether a sink enables one of the A80 counters' optional labels: only then are they made. */
  private final boolean networkLabelsWanted;
  /** The counters' optional values when none is wanted: all empty. */
  private final List<String> createdNoLabels;
  private final List<String> countNoLabels;
  @GuardedBy("this")
  private final List<MetricSink.Registration> registrations = new ArrayList<>();

  LeanMetrics(ConnectionStatsGroup group, List<MetricSink> sinks, String target) {
    this.group = group;
    this.sinks = List.copyOf(sinks);
    this.target = Collections.singletonList(target);
    boolean wanted = false;
    for (MetricSink sink : this.sinks) {
      for (String key : sink.getOptionalLabels()) {
        wanted |= CONNECTIONS_CREATED.getOptionalLabelKeys().contains(key)
            || CONNECTION_COUNT.getOptionalLabelKeys().contains(key);
      }
    }
    this.networkLabelsWanted = wanted;
    this.createdNoLabels = optionalValues(CONNECTIONS_CREATED);
    this.countNoLabels = optionalValues(CONNECTION_COUNT);
  }

  /**
   * A connection of the group was established, from {@code local} to {@code peer} (either null
   * if the socket could not say): counted created and open. Any thread.
   *
   * @return the optional label values it was counted open with, for {@link #connectionClosed}
   */
  List<String> connectionOpened(SocketAddress local, SocketAddress peer) {
    List<String> created = createdNoLabels;
    List<String> count = countNoLabels;
    if (networkLabelsWanted) {
      count = networkValues(CONNECTION_COUNT, local, peer);
      created = CONNECTIONS_CREATED.getOptionalLabelKeys().equals(
          CONNECTION_COUNT.getOptionalLabelKeys())
          ? count : networkValues(CONNECTIONS_CREATED, local, peer);
    }
    for (MetricSink sink : sinks) {
      LongCounterMetricInstrument createdInstrument = CONNECTIONS_CREATED;
      prepare(sink, createdInstrument);
      sink.addLongCounter(createdInstrument, 1, target, created);
      LongUpDownCounterMetricInstrument countInstrument = CONNECTION_COUNT;
      prepare(sink, countInstrument);
      sink.addLongUpDownCounter(countInstrument, 1, target, count);
    }
    return count;
  }

  /**
   * A connection counted by {@link #connectionOpened} closed; {@code labels} are what that
   * returned, so the open count moves back under the same labels. Any thread.
   */
  void connectionClosed(List<String> labels) {
    for (MetricSink sink : sinks) {
      LongUpDownCounterMetricInstrument count = CONNECTION_COUNT;
      prepare(sink, count);
      sink.addLongUpDownCounter(count, -1, target, labels);
    }
  }

  /** Registers the gauges' callback with every sink; the group's first user started. */
  synchronized void start() {
    if (!registrations.isEmpty()) {
      return;
    }
    CallbackMetricInstrument[] instruments = new CallbackMetricInstrument[GAUGES.size()];
    for (int i = 0; i < instruments.length; i++) {
      instruments[i] = GAUGES.get(i).instrument;
    }
    for (MetricSink sink : sinks) {
      for (CallbackMetricInstrument instrument : instruments) {
        prepare(sink, (MetricInstrument) instrument);
      }
      registrations.add(sink.registerBatchCallback(() -> recordGauges(sink), instruments));
    }
  }

  /** Closes the gauges' callbacks; the group's last user shut down. */
  synchronized void stop() {
    for (MetricSink.Registration r : registrations) {
      r.close();
    }
    registrations.clear();
  }

  /** One collection: a snapshot of the group, every gauge read from it. The sink's thread. */
  private void recordGauges(MetricSink sink) {
    LeanConnectionStats s = group.snapshot();
    for (Gauge g : GAUGES) {
      sink.recordLongGauge(g.instrument, g.value.applyAsLong(s), target,
          optionalValues(g.instrument));
    }
  }

  /** As grpc-core: a sink that has not seen the instrument's index learns the registry first. */
  private static void prepare(MetricSink sink, MetricInstrument instrument) {
    if (sink.getMeasuresSize() <= instrument.getIndex()) {
      sink.updateMeasures(MetricInstrumentRegistry.getDefaultRegistry().getMetricInstruments());
    }
  }

  /**
   * Optional label values all empty: for the gauges (which declare none, unless shared with
   * another registration that does), and for the counters when no sink wants their labels.
   */
  private static List<String> optionalValues(MetricInstrument instrument) {
    int n = instrument.getOptionalLabelKeys().size();
    return n == 0 ? Collections.emptyList() : Collections.nCopies(n, "");
  }

  /**
   * The instrument's optional label values for a connection from {@code local} to {@code peer},
   * in the order of its keys: A80's network labels filled (numeric addresses, no name lookup),
   * any other key (an instrument shared with another registration) empty.
   */
  static List<String> networkValues(MetricInstrument instrument, SocketAddress local,
      SocketAddress peer) {
    List<String> keys = instrument.getOptionalLabelKeys();
    String[] values = new String[keys.size()];
    for (int i = 0; i < values.length; i++) {
      switch (keys.get(i)) {
        case LOCAL_ADDRESS_LABEL:
          values[i] = host(local);
          break;
        case LOCAL_PORT_LABEL:
          values[i] = port(local);
          break;
        case PEER_ADDRESS_LABEL:
          values[i] = host(peer);
          break;
        case PEER_PORT_LABEL:
          values[i] = port(peer);
          break;
        default:
          values[i] = "";
      }
    }
    return Collections.unmodifiableList(Arrays.asList(values));
  }

  private static String host(SocketAddress address) {
    if (!(address instanceof InetSocketAddress)) {
      return "";
    }
    InetSocketAddress inet = (InetSocketAddress) address;
    return inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
  }

  private static String port(SocketAddress address) {
    return address instanceof InetSocketAddress
        ? String.valueOf(((InetSocketAddress) address).getPort()) : "";
  }

  /**
   * A gauge of ours, registered once per registry: a second copy of this class (another class
   * loader over the same grpc-api) shares the first one's instrument.
   */
  private static LongGaugeMetricInstrument gauge(MetricInstrumentRegistry registry, String name,
      String description, String unit, List<String> required, List<String> optional,
      boolean enabledByDefault) {
    LongGaugeMetricInstrument found = existing(registry, name, LongGaugeMetricInstrument.class);
    return found != null ? found : registry.registerLongGauge(name, description, unit, required,
        optional, enabledByDefault);
  }

  private static <T extends MetricInstrument> T existing(MetricInstrumentRegistry registry,
      String name, Class<T> type) {
    for (MetricInstrument i : registry.getMetricInstruments()) {
      if (i.getName().equals(name) && type.isInstance(i)) {
        return type.cast(i);
      }
    }
    return null;
  }
}
