package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallbackMetricInstrument;
import io.grpc.Grpc;
import io.grpc.InternalManagedChannelBuilder;
import io.grpc.LongCounterMetricInstrument;
import io.grpc.LongGaugeMetricInstrument;
import io.grpc.LongUpDownCounterMetricInstrument;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MetricInstrument;
import io.grpc.MetricSink;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The transport's figures reach the metric sinks a channel was given (gRFC A79), as grpc-opentelemetry
 * gives them: A80's connection counters move as connections open and close, and the {@code
 * grpc.lean.*} gauges answer a collection with the group's figures.
 */
public class LeanMetricsTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);
  private static final Duration WAIT = Duration.ofSeconds(20);

  private Server server;
  private ManagedChannel channel;

  @After
  public void tearDown() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    LeanLeases.assertNoneLeased();
  }

  @Test
  public void connectionCountersAndGaugesReachTheChannelsSink() throws Exception {
    server = LeanServerBuilder.forPort(0).addService(Echo.service()).build().start();
    RecordingSink sink = new RecordingSink();
    String target = "127.0.0.1:" + server.getPort();
    LeanChannelBuilder builder = LeanChannelBuilder.forTarget(target).usePlaintext();
    InternalManagedChannelBuilder.addMetricSink(builder, sink);
    channel = builder.build();

    assertEquals("the gauges' callback is registered as the channel is built", 1,
        sink.callbacks.size());
    assertEquals("no connection before the first call", 0,
        sink.total("grpc.tcp.connections_created", target));
    byte[] request = new byte[100];
    assertArrayEquals(request, Echo.call(channel, request));

    assertEquals(1, sink.total("grpc.tcp.connections_created", target));
    assertEquals(1, sink.total("grpc.tcp.connection_count", target));
    assertEquals("no optional label enabled: all four passed empty",
        List.of(List.of("", "", "", "")), sink.countLabels(1));
    assertTrue("the sink learnt the instruments before the first value",
        sink.measuresSize > LeanMetrics.CONNECTION_COUNT.getIndex());

    // One collection, as an exporter's reader would run it.
    Registered r = sink.callbacks.get(0);
    Set<String> names = ConcurrentHashMap.newKeySet();
    for (CallbackMetricInstrument i : r.instruments) {
      names.add(((MetricInstrument) i).getName());
    }
    assertTrue(names.containsAll(List.of("grpc.lean.writer.queue_depth",
        "grpc.lean.flow.streams_blocked", "grpc.lean.flow.stream_window_blocked_time",
        "grpc.lean.socket.not_writable_time", "grpc.lean.writer.queue_wait")));
    r.callback.run();
    assertEquals(Long.valueOf(0), sink.gauges.get("grpc.lean.writer.queue_depth"));
    assertEquals(Long.valueOf(0), sink.gauges.get("grpc.lean.flow.streams_blocked"));
    assertEquals(List.of(target), sink.gaugeLabels.get("grpc.lean.flow.streams_blocked"));

    // The channel closes its connection: the count falls back, the created total stays.
    channel.shutdownNow();
    assertTrue(channel.awaitTermination(5, TimeUnit.SECONDS));
    Conditions.await(() -> sink.total("grpc.tcp.connection_count", target) == 0, WAIT,
        () -> "connection_count " + sink.total("grpc.tcp.connection_count", target));
    assertEquals(1, sink.total("grpc.tcp.connections_created", target));
    assertTrue("the gauges' callback is closed with the channel", r.closed);
  }

  /**
   * A sink that enables A80's optional labels gets the connection's real addresses on
   * connection_count, the same going up and down, and on connections_created: the local port is
   * the client's ephemeral one, as the server saw it, the peer port the server's port-0 pick.
   */
  @Test
  public void connectionCountCarriesTheConnectionsAddressesWhenTheSinkEnablesThem()
      throws Exception {
    AtomicReference<SocketAddress> clientSeenByServer = new AtomicReference<>();
    AtomicReference<SocketAddress> serverLocal = new AtomicReference<>();
    ServerInterceptor addresses = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
          Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        clientSeenByServer.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        serverLocal.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR));
        return next.startCall(call, headers);
      }
    };
    server = LeanServerBuilder.forPort(0)
        .addService(ServerInterceptors.intercept(Echo.service(), addresses)).build().start();
    RecordingSink sink = new RecordingSink(Set.of(LeanMetrics.LOCAL_ADDRESS_LABEL,
        LeanMetrics.LOCAL_PORT_LABEL, LeanMetrics.PEER_ADDRESS_LABEL,
        LeanMetrics.PEER_PORT_LABEL));
    String target = "127.0.0.1:" + server.getPort();
    LeanChannelBuilder builder = LeanChannelBuilder.forTarget(target).usePlaintext();
    InternalManagedChannelBuilder.addMetricSink(builder, sink);
    channel = builder.build();
    byte[] request = new byte[10];
    assertArrayEquals(request, Echo.call(channel, request));

    InetSocketAddress client = (InetSocketAddress) clientSeenByServer.get();
    InetSocketAddress serverAddress = (InetSocketAddress) serverLocal.get();
    assertEquals(server.getPort(), serverAddress.getPort());
    List<String> expected = List.of(client.getAddress().getHostAddress(),
        String.valueOf(client.getPort()), serverAddress.getAddress().getHostAddress(),
        String.valueOf(server.getPort()));
    assertEquals("127.0.0.1", expected.get(0));
    assertEquals(List.of(expected), sink.countLabels(1));
    assertEquals(List.of(expected), sink.createdLabels);
    assertEquals(List.of(LeanMetrics.LOCAL_ADDRESS_LABEL, LeanMetrics.LOCAL_PORT_LABEL,
            LeanMetrics.PEER_ADDRESS_LABEL, LeanMetrics.PEER_PORT_LABEL),
        LeanMetrics.CONNECTION_COUNT.getOptionalLabelKeys());

    channel.shutdownNow();
    assertTrue(channel.awaitTermination(5, TimeUnit.SECONDS));
    Conditions.await(() -> !sink.countLabels(-1).isEmpty(), WAIT,
        () -> "connection_count events " + sink.countEvents);
    assertEquals("down with the labels it went up with", List.of(expected),
        sink.countLabels(-1));
  }

  @Test
  public void aChannelWithoutSinksRegistersNothing() throws Exception {
    server = LeanServerBuilder.forPort(0).addService(Echo.service()).build().start();
    LeanChannelBuilder builder =
        LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext();
    channel = builder.build();
    byte[] request = new byte[10];
    assertArrayEquals(request, Echo.call(channel, request));
    RecordingSink late = new RecordingSink();
    // A sink added after build() does not reach the built channel's transport.
    InternalManagedChannelBuilder.addMetricSink(builder, late);
    assertFalse(late.totals.containsKey("grpc.tcp.connections_created"));
    assertTrue(late.callbacks.isEmpty());
  }

  /** A sink that keeps what it is given; thread-safe. */
  static final class RecordingSink implements MetricSink {
    private final Set<String> optionalLabels;
    volatile int measuresSize;
    /** connection_count's values with their optional label values, in order. */
    final List<Map.Entry<Long, List<String>>> countEvents = new CopyOnWriteArrayList<>();
    /** connections_created's optional label values, one list per connection. */
    final List<List<String>> createdLabels = new CopyOnWriteArrayList<>();

    RecordingSink() {
      this(Set.of());
    }

    /** A sink that enables {@code optionalLabels}, as grpc-opentelemetry's can be told to. */
    RecordingSink(Set<String> optionalLabels) {
      this.optionalLabels = optionalLabels;
    }

    /** The optional label values of connection_count's events moving it by {@code delta}. */
    List<List<String>> countLabels(long delta) {
      List<List<String>> labels = new ArrayList<>();
      for (Map.Entry<Long, List<String>> e : countEvents) {
        if (e.getKey() == delta) {
          labels.add(e.getValue());
        }
      }
      return labels;
    }
    final Map<String, AtomicLong> totals = new ConcurrentHashMap<>();
    final Map<String, Long> gauges = new ConcurrentHashMap<>();
    final Map<String, List<String>> gaugeLabels = new ConcurrentHashMap<>();
    final List<Registered> callbacks = new CopyOnWriteArrayList<>();

    long total(String name, String target) {
      AtomicLong v = totals.get(name + "|" + target);
      return v == null ? 0 : v.get();
    }

    @Override
    public Map<String, Boolean> getEnabledMetrics() {
      return Collections.emptyMap();
    }

    @Override
    public Set<String> getOptionalLabels() {
      return optionalLabels;
    }

    @Override
    public int getMeasuresSize() {
      return measuresSize;
    }

    @Override
    public void updateMeasures(List<MetricInstrument> instruments) {
      measuresSize = instruments.size();
    }

    private void add(MetricInstrument i, long value, List<String> required,
        List<String> optional) {
      if (i.getIndex() >= measuresSize) {
        throw new AssertionError("value before updateMeasures for " + i.getName());
      }
      assertEquals(i.getRequiredLabelKeys().size(), required.size());
      assertEquals(i.getOptionalLabelKeys().size(), optional.size());
      totals.computeIfAbsent(i.getName() + "|" + String.join(",", required),
          k -> new AtomicLong()).addAndGet(value);
    }

    @Override
    public void addLongCounter(LongCounterMetricInstrument i, long value, List<String> required,
        List<String> optional) {
      assertTrue(value >= 0);
      if (i.getName().equals("grpc.tcp.connections_created")) {
        createdLabels.add(List.copyOf(optional));
      }
      add(i, value, required, optional);
    }

    @Override
    public void addLongUpDownCounter(LongUpDownCounterMetricInstrument i, long value,
        List<String> required, List<String> optional) {
      if (i.getName().equals("grpc.tcp.connection_count")) {
        countEvents.add(Map.entry(value, List.copyOf(optional)));
      }
      add(i, value, required, optional);
    }

    @Override
    public void recordLongGauge(LongGaugeMetricInstrument i, long value, List<String> required,
        List<String> optional) {
      gauges.put(i.getName(), value);
      gaugeLabels.put(i.getName(), new ArrayList<>(required));
    }

    @Override
    public Registration registerBatchCallback(Runnable callback,
        CallbackMetricInstrument... instruments) {
      Registered r = new Registered(callback, instruments);
      callbacks.add(r);
      return () -> r.closed = true;
    }
  }

  static final class Registered {
    final Runnable callback;
    final CallbackMetricInstrument[] instruments;
    volatile boolean closed;

    Registered(Runnable callback, CallbackMetricInstrument[] instruments) {
      this.callback = callback;
      this.instruments = instruments;
    }
  }
}
