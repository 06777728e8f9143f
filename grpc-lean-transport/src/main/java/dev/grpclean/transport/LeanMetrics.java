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
import java.util.ArrayList;
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
 * grpc.tcp.connection_count} (up-down counter), recorded as connections open and close, off by
 * default as grpc-java registers them; and callback gauges under {@code grpc.lean.*}, on by
 * default, read from one {@link ConnectionStatsGroup#snapshot()} per collection. Every figure has
 * the required label {@code grpc.target} (the channel's target).
 *
 * <p>Thread-safe: connection events arrive on any thread (the sinks are thread-safe by contract);
 * the callbacks' registrations are guarded by this object's monitor.
 */
final class LeanMetrics {
  static final String TARGET_LABEL = "grpc.target";

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
        required, none, false);
    LongUpDownCounterMetricInstrument count = existing(registry, "grpc.tcp.connection_count",
        LongUpDownCounterMetricInstrument.class);
    CONNECTION_COUNT = count != null ? count : registry.registerLongUpDownCounter(
        "grpc.tcp.connection_count", "Number of currently open TCP connections.", "{connection}",
        required, none, false);
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
  @GuardedBy("this")
  private final List<MetricSink.Registration> registrations = new ArrayList<>();

  LeanMetrics(ConnectionStatsGroup group, List<MetricSink> sinks, String target) {
    this.group = group;
    this.sinks = List.copyOf(sinks);
    this.target = Collections.singletonList(target);
  }

  /** A connection of the group was created. Any thread. */
  void connectionOpened() {
    for (MetricSink sink : sinks) {
      LongCounterMetricInstrument created = CONNECTIONS_CREATED;
      prepare(sink, created);
      sink.addLongCounter(created, 1, target, optionalValues(created));
      LongUpDownCounterMetricInstrument count = CONNECTION_COUNT;
      prepare(sink, count);
      sink.addLongUpDownCounter(count, 1, target, optionalValues(count));
    }
  }

  /** A connection of the group closed. Any thread. */
  void connectionClosed() {
    for (MetricSink sink : sinks) {
      LongUpDownCounterMetricInstrument count = CONNECTION_COUNT;
      prepare(sink, count);
      sink.addLongUpDownCounter(count, -1, target, optionalValues(count));
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
   * Optional label values: none for our instruments; empty values when a shared A80 instrument
   * (registered by another transport) declares optional keys such as the peer address, which the
   * group-level events here do not carry.
   */
  private static List<String> optionalValues(MetricInstrument instrument) {
    int n = instrument.getOptionalLabelKeys().size();
    return n == 0 ? Collections.emptyList() : Collections.nCopies(n, "");
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
