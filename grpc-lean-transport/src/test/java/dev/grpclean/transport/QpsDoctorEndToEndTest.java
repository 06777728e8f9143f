package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.QpsDoctor.Bottleneck;
import dev.grpclean.transport.QpsDoctor.Verdict;
import dev.grpclean.transport.testing.ByteMethods;
import dev.grpclean.transport.testing.DelayRelay;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The doctor names an induced bottleneck: a lean client whose flow-control window is far below
 * what the download needs makes the lean server wait on it, and the server's counters say so,
 * while the client's say that the server keeps filling its window.
 *
 * <p>With round trips measured, the window is named as below the bandwidth-delay product. That
 * verdict compares what a connection moves per PING round trip with the window, so the tests
 * that expect it download through a {@link DelayRelay}: {@link #ONE_WAY_DELAY} each way makes
 * both the PING's round trip and the window's own cycle (DATA out, WINDOW_UPDATE back) at least
 * 10 ms, against which how soon either side reads a PING or runs the application is noise. On
 * plain loopback the two are a few hundred microseconds and their ratio is set by scheduling:
 * the PING was answered from the reading thread in 65 to 1300 us depending on when the loop
 * polled, while the window waited for the application too.
 */
public class QpsDoctorEndToEndTest {
  @Rule public final Timeout timeout = Timeout.seconds(120);

  /** The client's window: one max-size DATA frame, so the server stalls after every frame. */
  private static final int TINY_WINDOW_BYTES = 16 * 1024;
  private static final int MESSAGE_BYTES = 64 * 1024;
  /** 8 MiB downloaded: hundreds of window round trips, a fraction of a second on loopback. */
  private static final int MESSAGES = 128;
  /**
   * The relay's delay each way: a window round trip of 10 ms and more, so 16 KiB per round trip
   * moves at most 1.6 MB/s, far below loopback's bandwidth; the window, not the path, limits.
   */
  private static final Duration ONE_WAY_DELAY = Duration.ofMillis(5);
  /** Through the relay: 2 MiB, 128 window round trips, 1.3 s and more. */
  private static final int RELAYED_MESSAGES = 32;

  private static final MethodDescriptor<byte[], byte[]> DOWNLOAD =
      ByteMethods.method(MethodType.SERVER_STREAMING, "test.Doctor", "Download");

  private LeanServerBuilder serverBuilder;
  private Server server;
  /** The server behind {@link #ONE_WAY_DELAY} each way. */
  private DelayRelay relay;
  /** A channel whose receive window is {@link #TINY_WINDOW_BYTES}, direct or through the relay. */
  private LeanChannelBuilder channelBuilder;
  private ManagedChannel channel;
  private ExecutorService downloader;

  @Before
  public void setUp() throws Exception {
    serverBuilder = LeanServerBuilder.forPort(0);
    server = serverBuilder.addService(downloadService()).build().start();
    relay = new DelayRelay(server.getPort(), ONE_WAY_DELAY);
    downloader = Executors.newSingleThreadExecutor();
  }

  /** Builds {@link #channel} to {@code port} (the server's or the relay's). */
  private void connect(int port) {
    channelBuilder = LeanChannelBuilder.forAddress("127.0.0.1", port)
        .usePlaintext().flowControlWindow(TINY_WINDOW_BYTES);
    channel = channelBuilder.build();
  }

  @After
  public void tearDown() throws Exception {
    downloader.shutdownNow();
    if (channel != null) {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    relay.close();
    LeanLeases.assertNoneLeased();
  }

  @Test
  public void tinyClientWindowIsNamedOnBothSides() throws Exception {
    // No round trips are probed here, so loopback's speed does not matter: direct.
    connect(server.getPort());
    // Like the doctor's own sampling, measure a steady state: the connection is up and the
    // code paths are compiled before the sample starts.
    assertEquals((long) MESSAGES * MESSAGE_BYTES, download(channel, MESSAGES));
    LeanConnectionStats serverBefore = serverBuilder.connectionStats().snapshot();
    LeanConnectionStats clientBefore = channelBuilder.connectionStats().snapshot();
    assertEquals((long) MESSAGES * MESSAGE_BYTES, download(channel, MESSAGES));
    LeanConnectionStats serverAfter = serverBuilder.connectionStats().snapshot();
    LeanConnectionStats clientAfter = channelBuilder.connectionStats().snapshot();

    List<Verdict> serverVerdicts = QpsDoctor.diagnose(serverBefore, serverAfter);
    String evidence = QpsDoctor.report(serverVerdicts) + serverAfter.minus(serverBefore);
    assertFalse(evidence, serverVerdicts.isEmpty());
    assertEquals(evidence, Bottleneck.PEER_STREAM_WINDOW, serverVerdicts.get(0).bottleneck);
    System.out.println("server side:\n" + QpsDoctor.report(serverVerdicts));

    List<Verdict> clientVerdicts = QpsDoctor.diagnose(clientBefore, clientAfter);
    String clientEvidence = QpsDoctor.report(clientVerdicts) + clientAfter.minus(clientBefore);
    assertFalse(clientEvidence, clientVerdicts.isEmpty());
    assertEquals(clientEvidence, Bottleneck.OUR_RECEIVE_WINDOW,
        clientVerdicts.get(0).bottleneck);
    System.out.println("client side:\n" + QpsDoctor.report(clientVerdicts));
  }

  /**
   * With PING round trips probed during the download, the tiny window is named as below the
   * bandwidth-delay product, with a larger flowControlWindow to set.
   */
  @Test
  public void tinyWindowWithRoundTripsIsBelowTheBdp() throws Exception {
    connect(relay.port());
    assertEquals((long) RELAYED_MESSAGES * MESSAGE_BYTES, download(channel, RELAYED_MESSAGES));
    LeanConnectionStats serverBefore = serverBuilder.connectionStats().snapshot();
    downloadWhileProbing(serverBuilder.connectionStats()::probeRoundTrips);
    LeanConnectionStats serverAfter = serverBuilder.connectionStats().snapshot();
    List<Verdict> verdicts = QpsDoctor.diagnose(serverBefore, serverAfter);
    String evidence = QpsDoctor.report(verdicts) + serverAfter.minus(serverBefore);
    assertFalse(evidence, verdicts.isEmpty());
    assertEquals(evidence, Bottleneck.WINDOW_BELOW_BDP, verdicts.get(0).bottleneck);
    assertTrue(evidence, verdicts.get(0).advice.contains("raise the peer's flowControlWindow"));
    assertRoundTripAtLeastTheRelays(serverAfter.minus(serverBefore), evidence);
    System.out.println("server side, with round trips:\n" + QpsDoctor.report(verdicts));
  }

  /**
   * The same tiny window seen from the client alone (a pid or JMX target that only runs
   * channels): the channel's own round-trip probes give the round trip, and our receive window
   * is named as below the BDP, with a larger flowControlWindow of ours to set.
   */
  @Test
  public void tinyWindowIsBelowTheBdpFromTheClientAlone() throws Exception {
    connect(relay.port());
    assertEquals((long) RELAYED_MESSAGES * MESSAGE_BYTES, download(channel, RELAYED_MESSAGES));
    LeanConnectionStats clientBefore = channelBuilder.connectionStats().snapshot();
    downloadWhileProbing(channelBuilder.connectionStats()::probeRoundTrips);
    LeanConnectionStats clientAfter = channelBuilder.connectionStats().snapshot();
    LeanConnectionStats d = clientAfter.minus(clientBefore);
    List<Verdict> verdicts = QpsDoctor.diagnose(clientBefore, clientAfter);
    String evidence = QpsDoctor.report(verdicts) + d;
    assertTrue("the channel timed its own PINGs: " + evidence,
        d.get(LeanConnectionStats.Figure.PING_ACKS_RECEIVED) > 0 && d.meanPingRttNanos() > 0);
    long unanswered = d.get(LeanConnectionStats.Figure.PINGS_SENT)
        - d.get(LeanConnectionStats.Figure.PING_ACKS_RECEIVED);
    assertTrue("one probe in flight at most: " + evidence, unanswered == 0 || unanswered == 1);
    assertFalse(evidence, verdicts.isEmpty());
    assertEquals(evidence, Bottleneck.WINDOW_BELOW_BDP, verdicts.get(0).bottleneck);
    assertTrue(evidence, verdicts.get(0).advice.contains("raise our flowControlWindow to at least"));
    assertRoundTripAtLeastTheRelays(d, evidence);
    System.out.println("client side alone, with its round trips:\n"
        + QpsDoctor.report(verdicts));
  }

  /** The PINGs measured the relay's path: their mean round trip is at least its two delays. */
  private static void assertRoundTripAtLeastTheRelays(LeanConnectionStats d, String evidence) {
    assertTrue("PING round trips measured: " + evidence,
        d.get(LeanConnectionStats.Figure.PING_ACKS_RECEIVED) > 0);
    assertTrue("round trip " + d.meanPingRttNanos() + " ns through the relay: " + evidence,
        d.meanPingRttNanos() >= 2 * ONE_WAY_DELAY.toNanos());
  }

  /**
   * Runs one download through the relay on {@code downloader} and calls {@code probe} every
   * 20 ms until it is done, as the doctor probes round trips while it samples.
   */
  private void downloadWhileProbing(Runnable probe) throws Exception {
    Future<Long> received = downloader.submit(() -> download(channel, RELAYED_MESSAGES));
    while (true) {
      probe.run();
      try {
        assertEquals((long) RELAYED_MESSAGES * MESSAGE_BYTES,
            (long) received.get(20, TimeUnit.MILLISECONDS));
        return;
      } catch (TimeoutException stillRunning) {
        // probe again
      }
    }
  }

  /** Downloads {@code count} messages of {@link #MESSAGE_BYTES}; returns the bytes received. */
  private static long download(ManagedChannel channel, int count) {
    Iterator<byte[]> messages = ClientCalls.blockingServerStreamingCall(channel, DOWNLOAD,
        CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS),
        ByteBuffer.allocate(Integer.BYTES).putInt(count).array());
    long received = 0;
    while (messages.hasNext()) {
      received += messages.next().length;
    }
    return received;
  }

  /**
   * Streams as many messages as the request's int says, as fast as flow control lets it
   * ({@code isReady}).
   */
  private static ServerServiceDefinition downloadService() {
    byte[] payload = new byte[MESSAGE_BYTES];
    return ServerServiceDefinition.builder("test.Doctor")
        .addMethod(DOWNLOAD, ServerCalls.asyncServerStreamingCall((request, observer) -> {
          int count = ByteBuffer.wrap(request).getInt();
          ServerCallStreamObserver<byte[]> out = (ServerCallStreamObserver<byte[]>) observer;
          out.setOnReadyHandler(new Runnable() {
            // grpc-core runs the on-ready handler serially: plain fields are enough.
            private int sent;
            private boolean completed;

            @Override
            public void run() {
              while (out.isReady() && sent < count) {
                out.onNext(payload);
                sent++;
              }
              if (sent == count && !completed) {
                completed = true;
                out.onCompleted();
              }
            }
          });
        }))
        .build();
  }
}
