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
 * windows start at {@value #WINDOW} bytes. It sends as far as the channel's windows let it and
 * answers each BDP PING only after {@value #SAMPLE} more bytes left, so every sample says the
 * window limits the sender. After a full round of samples ({@link BdpEstimator#SAMPLES_PER_ROUND},
 * the first round: nothing was measured before it) the channel must announce the grown window
 * (SETTINGS_INITIAL_WINDOW_SIZE for the streams, WINDOW_UPDATE for the connection) and accept
 * exactly what that grants, and do none of it with a fixed window or under a memory budget.
 */
public class WindowGrowthTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final int WINDOW = 128 << 10;
  /** What the server sends between reading a BDP PING and acknowledging it: 3/4 of the window. */
  private static final int SAMPLE = 96 << 10;

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
  public void windowGrowsAfterARoundOfSamplesAndThePeerMayFillIt() throws Exception {
    try (RawHttp2Client server = start(b -> b.initialFlowControlWindow(WINDOW))) {
      Download download = new Download(server);
      for (int round = 0; round < BdpEstimator.SAMPLES_PER_ROUND; round++) {
        assertEquals("no growth before the round is complete", -1, download.grownWindow());
        download.sendUntilBdpPing();
        download.send(SAMPLE);
        server.send(RawFrames.ping(true, ConnectionFlow.BDP_PING));
      }
      download.finishMessage();
      while (download.grownWindow() < 0) {
        server.readFrame(RawHttp2Client.DEFAULT_WAIT);
      }
      int grown = download.grownWindow();
      // Twice the average sample: each at least what followed the PING, at most the window
      // plus that.
      assertTrue("grown: " + grown, grown >= 2 * SAMPLE && grown <= 2 * (WINDOW + SAMPLE));
      // The connection's raise is queued right behind the SETTINGS.
      int at = download.grownWindowFrame();
      Frame raise = at + 1 < server.received().size() ? server.received().get(at + 1)
          : server.readFrame(RawHttp2Client.DEFAULT_WAIT);
      assertEquals(raise.toString(), FrameType.WINDOW_UPDATE, raise.type);
      assertEquals(0, raise.streamId);
      assertEquals(grown - WINDOW, increment(raise));
      server.send(RawFrames.settingsAck());
      server.pingRoundTrip(42); // every update the channel queued before is in
      assertEquals("our window as the stats show it", grown,
          builder.connectionStats().snapshot().get(Figure.OUR_WINDOW_BYTES));

      // The peer's view, from what it received: fill both windows to the byte, beyond what
      // they would grant without the growth.
      int fill = download.room();
      int withoutGrowth = Math.min(download.connectionView() - (grown - WINDOW),
          download.streamView() - (grown - WINDOW));
      assertTrue("the grown window grants more: " + fill + " vs " + withoutGrowth,
          fill > withoutGrowth && fill > 5);
      int before = messages.size();
      server.send(RawFrames.dataFrames(1, RawFrames.grpcMessage(new byte[fill - 5]), false),
          server.headers(1, GrpcHeaders.serverTrailers(okTrailers(), true), true));
      Status status = FaultFixtures.await(callStatus, "the call's end");
      assertTrue(status.toString(), status.isOk());
      assertEquals(before + 1, messages.size());
      assertEquals(fill - 5, messages.get(before).length);
    }
    LeanLeases.assertBackTo(baseline);
  }

  /**
   * The server's side of the download on stream 1: messages of {@value #WINDOW} bytes framed,
   * sent only as far as the channel's windows allow as the server sees them (RFC 9113 §6.9: the
   * WINDOW_UPDATEs and SETTINGS it received, less what it sent). Test thread only.
   */
  private static final class Download {
    private final RawHttp2Client server;
    private final byte[] message = RawFrames.grpcMessage(new byte[WINDOW - 5]);
    private int position;
    private long sent;

    Download(RawHttp2Client server) {
      this.server = server;
    }

    /** Sends until the channel's BDP PING arrives, waiting for window updates when blocked. */
    void sendUntilBdpPing() throws IOException {
      int seen = server.received().size();
      while (true) {
        for (int i = seen; i < server.received().size(); i++) {
          Frame f = server.received().get(i);
          if (f.type == FrameType.PING && !f.ack()) {
            assertEquals(ConnectionFlow.BDP_PING, ByteBuffer.wrap(f.payload).getLong());
            return;
          }
        }
        seen = server.received().size();
        if (room() > 0) {
          sendFrame(room());
        } else {
          server.readFrame(RawHttp2Client.DEFAULT_WAIT);
        }
      }
    }

    /** Sends {@code bytes} of the message stream, waiting for window updates when blocked. */
    void send(int bytes) throws IOException {
      while (bytes > 0) {
        if (room() > 0) {
          bytes -= sendFrame(Math.min(bytes, room()));
        } else {
          server.readFrame(RawHttp2Client.DEFAULT_WAIT);
        }
      }
    }

    /** Sends the rest of the current message, so the next DATA starts a new one. */
    void finishMessage() throws IOException {
      send(position == 0 ? 0 : message.length - position);
    }

    /** One DATA frame of at most {@code max} bytes; returns its size. */
    private int sendFrame(int max) throws IOException {
      int n = Math.min(Math.min(max, RawFrames.MAX_FRAME_BYTES), message.length - position);
      server.send(RawFrames.data(1, Arrays.copyOfRange(message, position, position + n), false));
      position = (position + n) % message.length;
      sent += n;
      return n;
    }

    /** What the server may send now: the smaller of its connection and stream views. */
    int room() {
      return Math.min(connectionView(), streamView());
    }

    /** RFC 9113 §6.9.2: the connection window starts at 65,535 whatever SETTINGS say. */
    int connectionView() {
      return (int) (FrameType.DEFAULT_INITIAL_WINDOW + increments(0) - sent);
    }

    /** The stream's window: the channel's latest SETTINGS_INITIAL_WINDOW_SIZE, moved by updates. */
    int streamView() {
      long initial = WINDOW;
      for (Frame f : server.received()) {
        if (f.type == FrameType.SETTINGS && !f.ack()
            && settingValue(f, Settings.INITIAL_WINDOW_SIZE) >= 0) {
          initial = settingValue(f, Settings.INITIAL_WINDOW_SIZE);
        }
      }
      return (int) (initial + increments(1) - sent);
    }

    /** The window the channel announced after the first, or -1 while it has not grown. */
    int grownWindow() {
      int at = grownWindowFrame();
      return at < 0 ? -1
          : (int) settingValue(server.received().get(at), Settings.INITIAL_WINDOW_SIZE);
    }

    /** Where the SETTINGS that grew the window is among the frames received, or -1. */
    int grownWindowFrame() {
      List<Frame> received = server.received();
      for (int i = 0; i < received.size(); i++) {
        Frame f = received.get(i);
        if (f.type == FrameType.SETTINGS && !f.ack()
            && settingValue(f, Settings.INITIAL_WINDOW_SIZE) > WINDOW) {
          return i;
        }
      }
      return -1;
    }

    private long increments(int streamId) {
      long sum = 0;
      for (Frame f : server.received()) {
        if (f.type == FrameType.WINDOW_UPDATE && f.streamId == streamId) {
          sum += increment(f);
        }
      }
      return sum;
    }
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
