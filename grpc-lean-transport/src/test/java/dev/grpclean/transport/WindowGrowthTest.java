package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.RawHttp2Client.Frame;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Settings;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.Observers;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Receive-window growth on the wire: a raw server plays a download to a lean channel whose
 * windows start at {@value #WINDOW} bytes and answers the channel's BDP PING only after a whole
 * window's worth of DATA, so the sample says the window limits the sender. The channel must
 * announce the grown window (SETTINGS_INITIAL_WINDOW_SIZE for the streams, WINDOW_UPDATE for the
 * connection), accept exactly what that grants, and do none of it with a fixed window or under a
 * memory budget.
 */
public class WindowGrowthTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final int WINDOW = 128 << 10;
  /** DATA before the PING: the second 16 KiB frame makes a quarter of the window in flight. */
  private static final int BEFORE_PING = 40 << 10;
  /** What arrives while the PING is out: the rest of the window, 96 KiB. */
  private static final int SAMPLE = WINDOW - (32 << 10);

  private ServerSocket listener;
  private ManagedChannel channel;
  private LeanChannelBuilder builder;
  private long baseline;
  private final CompletableFuture<Status> callStatus = new CompletableFuture<>();
  private final List<byte[]> messages = new CopyOnWriteArrayList<>();

  @Before
  public void setUp() throws IOException {
    baseline = LeanLeases.baseline();
    listener = new ServerSocket();
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
    listener.setSoTimeout((int) FaultFixtures.WAIT.toMillis());
  }

  @After
  public void tearDown() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      assertTrue("channel terminates", channel.awaitTermination(10, TimeUnit.SECONDS));
    }
    listener.close();
  }

  @Test
  public void windowGrowsToTwiceTheSampleAndThePeerMayFillIt() throws Exception {
    try (RawHttp2Client server = start(b -> b.initialFlowControlWindow(WINDOW))) {
      byte[] first = RawFrames.grpcMessage(new byte[WINDOW - 5]);
      server.send(RawFrames.dataFrames(1, Arrays.copyOfRange(first, 0, BEFORE_PING), false));
      Frame ping = server.awaitFrame(f -> f.type == FrameType.PING && !f.ack(),
          RawHttp2Client.DEFAULT_WAIT);
      assertEquals(ConnectionFlow.BDP_PING, ByteBuffer.wrap(ping.payload).getLong());
      server.send(RawFrames.dataFrames(1, Arrays.copyOfRange(first, BEFORE_PING, WINDOW), false),
          RawFrames.ping(true, ConnectionFlow.BDP_PING));
      Frame settings = server.awaitFrame(f -> f.type == FrameType.SETTINGS && !f.ack()
          && settingValue(f, Settings.INITIAL_WINDOW_SIZE) >= 0, RawHttp2Client.DEFAULT_WAIT);
      int grown = 2 * SAMPLE;
      assertEquals(grown, settingValue(settings, Settings.INITIAL_WINDOW_SIZE));
      // The connection's raise is queued right behind the SETTINGS.
      Frame raise = server.readFrame(RawHttp2Client.DEFAULT_WAIT);
      assertEquals(raise.toString(), FrameType.WINDOW_UPDATE, raise.type);
      assertEquals(0, raise.streamId);
      assertEquals(grown - WINDOW, increment(raise));
      server.send(RawFrames.settingsAck());
      assertEquals("our window as the stats show it", grown,
          builder.connectionStats().snapshot().get(Figure.OUR_WINDOW_BYTES));

      // The peer's view, from what it received: fill both windows to the byte.
      // The connection's started at 65,535; the stream's at our SETTINGS, moved by the raise.
      int connectionView = FrameType.DEFAULT_INITIAL_WINDOW - WINDOW;
      int streamView = grown - WINDOW;
      for (Frame f : server.received()) {
        if (f.type == FrameType.WINDOW_UPDATE) {
          if (f.streamId == 0) {
            connectionView += increment(f);
          } else {
            streamView += increment(f);
          }
        }
      }
      int fill = Math.min(connectionView, streamView);
      assertTrue("the grown window grants more than the start: " + fill, fill > 0);
      server.send(RawFrames.dataFrames(1, RawFrames.grpcMessage(new byte[fill - 5]), false),
          server.headers(1, GrpcHeaders.serverTrailers(okTrailers(), true), true));
      Status status = FaultFixtures.await(callStatus, "the call's end");
      assertTrue(status.toString(), status.isOk());
      assertEquals(2, messages.size());
      assertEquals(fill - 5, messages.get(1).length);
    }
    LeanLeases.assertBackTo(baseline);
  }

  @Test
  public void fixedWindowNeverPingsNorGrows() throws Exception {
    assertNoGrowth(b -> b.flowControlWindow(WINDOW));
  }

  @Test
  public void autoFlowControlOffNeverPingsNorGrows() throws Exception {
    assertNoGrowth(b -> b.initialFlowControlWindow(WINDOW).autoFlowControl(false));
  }

  @Test
  public void memoryBudgetOwnsTheWindowsSoNoGrowth() throws Exception {
    assertNoGrowth(b -> b.initialFlowControlWindow(WINDOW)
        .memoryBudget(LeanMemoryBudget.of(256L << 20)));
  }

  /** A whole window arrives; the channel consumes it and ends; no PING, one SETTINGS. */
  private void assertNoGrowth(UnaryOperator<LeanChannelBuilder> configure) throws Exception {
    try (RawHttp2Client server = start(configure)) {
      server.send(RawFrames.dataFrames(1, RawFrames.grpcMessage(new byte[WINDOW - 5]), false));
      // Consumed: the stream's update (half the window) is what the channel sends next.
      server.awaitFrame(f -> f.type == FrameType.WINDOW_UPDATE && f.streamId == 1,
          RawHttp2Client.DEFAULT_WAIT);
      server.send(server.headers(1, GrpcHeaders.serverTrailers(okTrailers(), true), true));
      assertTrue(FaultFixtures.await(callStatus, "the call's end").isOk());
      server.pingRoundTrip(42); // everything the channel queued before is in
      long pings = server.received().stream()
          .filter(f -> f.type == FrameType.PING && !f.ack()).count();
      long settings = server.received().stream()
          .filter(f -> f.type == FrameType.SETTINGS && !f.ack()).count();
      assertEquals(server.received().toString(), 0, pings);
      assertEquals(server.received().toString(), 1, settings);
    }
    LeanLeases.assertBackTo(baseline);
  }

  /** Builds the channel, starts a download on it and plays the server up to response headers. */
  private RawHttp2Client start(UnaryOperator<LeanChannelBuilder> configure) throws IOException {
    builder = configure.apply(
        LeanChannelBuilder.forAddress("127.0.0.1", listener.getLocalPort()).usePlaintext());
    channel = builder.build();
    ClientCalls.asyncServerStreamingCall(
        channel.newCall(FaultFixtures.DOWNLOAD,
            CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS)),
        new byte[] {1}, Observers.endingIn(callStatus, messages::add));
    RawHttp2Client server = RawHttp2Client.accepted(listener.accept());
    server.readClientPreface();
    server.send(RawFrames.settings());
    Frame ours = server.awaitFrame(f -> f.type == FrameType.SETTINGS && !f.ack(),
        RawHttp2Client.DEFAULT_WAIT);
    assertEquals(WINDOW, settingValue(ours, Settings.INITIAL_WINDOW_SIZE));
    server.send(RawFrames.settingsAck());
    server.awaitFrame(f -> f.type == FrameType.HEADERS && f.streamId == 1,
        RawHttp2Client.DEFAULT_WAIT);
    server.send(server.headers(1, GrpcHeaders.serverResponse(new Metadata()), false));
    return server;
  }

  private static Metadata okTrailers() {
    Metadata m = new Metadata();
    m.put(Metadata.Key.of("grpc-status", Metadata.ASCII_STRING_MARSHALLER), "0");
    return m;
  }

  /** A SETTINGS frame's value for {@code id}, or -1 if it does not carry it. */
  private static long settingValue(Frame f, int id) {
    ByteBuffer p = ByteBuffer.wrap(f.payload);
    while (p.remaining() >= 6) {
      int key = p.getShort() & 0xFFFF;
      long value = p.getInt() & 0xFFFF_FFFFL;
      if (key == id) {
        return value;
      }
    }
    return -1;
  }

  private static int increment(Frame windowUpdate) {
    return ByteBuffer.wrap(windowUpdate.payload).getInt() & 0x7FFF_FFFF;
  }
}
