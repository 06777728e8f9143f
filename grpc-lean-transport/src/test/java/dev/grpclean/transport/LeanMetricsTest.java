package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallbackMetricInstrument;
import io.grpc.InternalManagedChannelBuilder;
import io.grpc.LongCounterMetricInstrument;
import io.grpc.LongGaugeMetricInstrument;
import io.grpc.LongUpDownCounterMetricInstrument;
import io.grpc.ManagedChannel;
import io.grpc.MetricInstrument;
import io.grpc.MetricSink;
import io.grpc.Server;
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
    volatile int measuresSize;
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
      return Collections.emptySet();
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
      add(i, value, required, optional);
    }

    @Override
    public void addLongUpDownCounter(LongUpDownCounterMetricInstrument i, long value,
        List<String> required, List<String> optional) {
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
