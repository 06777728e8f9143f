package dev.grpclean.transport;

import static dev.grpclean.transport.FaultFixtures.await;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Settings;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.Observers;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The server of a lean channel disappears mid-call: its socket is reset (SO_LINGER 0), or it
 * half-closes (FIN) mid-response, or it resets while the client's writer is blocked on a full
 * socket. The call must fail UNAVAILABLE, the channel must leave READY, and every lease must come
 * back.
 *
 * <p>The server is a {@link RawHttp2Client} in the server role on a socket the test accepts, so
 * the test decides the exact moment and manner of its disappearance. The JUnit thread drives it;
 * the call's callbacks run on grpc-core's executor and reach the test through futures and latches.
 */
public class ClientPeerLossTest {
  /** Bytes of each message the flooding upload sends. */
  private static final int FLOOD_MESSAGE_BYTES = 32 * 1024;
  /** Bytes; a small server receive buffer, so the client's socket fills quickly. */
  private static final int SMALL_RECEIVE_BUFFER_BYTES = 16 * 1024;

  @Rule public final Timeout timeout = Timeout.seconds(90);

  private ServerSocket listener;
  private ManagedChannel channel;
  /** The channel's only poller thread: a dedicated group of one. */
  private Thread clientLoop;
  private long baseline;

  /** Completes with the call's final status. */
  private final CompletableFuture<Status> callStatus = new CompletableFuture<>();
  /** Counted down by the first response message. */
  private final CountDownLatch firstResponse = new CountDownLatch(1);
  /** Counted down once the flooding upload saw isReady() false: it was pushed back. */
  private final CountDownLatch floodPushedBack = new CountDownLatch(1);

  @Before
  public void setUp() throws IOException {
    baseline = LeanLeases.baseline();
    listener = new ServerSocket();
    // Inherited by accepted sockets, and set before listening so the TCP window follows it.
    listener.setReceiveBufferSize(SMALL_RECEIVE_BUFFER_BYTES);
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
    listener.setSoTimeout((int) FaultFixtures.WAIT.toMillis());
    Set<Thread> pollersBefore = FaultFixtures.pollerThreads();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", listener.getLocalPort())
        .usePlaintext()
        .pollerThreads(1)
        .build();
    clientLoop = FaultFixtures.onlyThread(FaultFixtures.newPollerThreads(pollersBefore));
  }

  @After
  public void tearDown() throws Exception {
    channel.shutdownNow();
    assertTrue("channel terminates", channel.awaitTermination(10, TimeUnit.SECONDS));
    listener.close();
  }

  @Test
  public void resetDuringServerStreamingFailsUnavailable() throws Exception {
    ClientCalls.asyncServerStreamingCall(newCall(FaultFixtures.DOWNLOAD), new byte[] {1},
        recordingObserver());
    try (RawHttp2Client server = acceptAndRespond()) {
      await(firstResponse, "the first response message");
      server.abort();
    }
    assertClientSawConnectionLoss();
  }

  @Test
  public void halfCloseMidResponseFailsUnavailable() throws Exception {
    ClientCalls.asyncServerStreamingCall(newCall(FaultFixtures.DOWNLOAD), new byte[] {1},
        recordingObserver());
    try (RawHttp2Client server = acceptAndRespond()) {
      await(firstResponse, "the first response message");
      // FIN without trailers: the response can never finish.
      server.shutdownOutput();
      server.awaitClosed(RawHttp2Client.DEFAULT_WAIT);
      assertTrue("client closed the connection", server.closedByPeer());
    }
    assertClientSawConnectionLoss();
  }

  /**
   * The server stops reading, so the client's writer blocks holding a write buffer the socket
   * would not take; then the server resets. That buffer, the queued request bytes and the
   * framer's buffers must all go back to the pools.
   */
  @Test
  public void resetWhileWriterBlockedOnFullSocketReturnsItsBuffer() throws Exception {
    ClientCalls.asyncClientStreamingCall(newCall(FaultFixtures.UPLOAD), floodingObserver());
    try (RawHttp2Client server = RawHttp2Client.accepted(listener.accept())) {
      server.readClientPreface();
      // Windows as large as HTTP/2 allows: only the socket can stop the client.
      server.send(RawFrames.settings(Settings.INITIAL_WINDOW_SIZE, FrameType.MAX_WINDOW),
          RawFrames.windowUpdate(0, FrameType.MAX_WINDOW - FrameType.DEFAULT_INITIAL_WINDOW));
      server.awaitFrame(f -> f.type == FrameType.SETTINGS && !f.ack(),
          RawHttp2Client.DEFAULT_WAIT);
      server.send(RawFrames.settingsAck());
      server.awaitFrame(f -> f.type == FrameType.HEADERS && f.streamId == 1,
          RawHttp2Client.DEFAULT_WAIT);
      // From here on the server reads nothing.
      await(floodPushedBack, "the flooding upload seeing isReady() false");
      FaultFixtures.awaitWriterBlockedOnSocket(clientLoop);
      server.abort();
    }
    assertClientSawConnectionLoss();
  }

  /** UNAVAILABLE for the call, the channel no longer READY, every lease back. */
  private void assertClientSawConnectionLoss() throws Exception {
    FaultFixtures.assertConnectionLost(callStatus, "the call's end", channel, baseline);
  }

  /**
   * Accepts the channel's connection, completes the HTTP/2 handshake, reads the request's
   * HEADERS and answers with response headers and one message, leaving the response open.
   */
  private RawHttp2Client acceptAndRespond() throws IOException {
    return RawHttp2Client.acceptAndStartResponse(listener);
  }

  private ClientCall<byte[], byte[]> newCall(MethodDescriptor<byte[], byte[]> method) {
    return channel.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(
        FaultFixtures.WAIT.toMillis() * 2, TimeUnit.MILLISECONDS));
  }

  private StreamObserver<byte[]> recordingObserver() {
    return Observers.endingIn(callStatus, response -> firstResponse.countDown());
  }

  /** Sends request messages as fast as the call is ready, until the call ends. */
  private ClientResponseObserver<byte[], byte[]> floodingObserver() {
    return new ClientResponseObserver<byte[], byte[]>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<byte[]> requests) {
        byte[] message = new byte[FLOOD_MESSAGE_BYTES];
        // Runs on the call's serialized executor, each time the call turns ready.
        requests.setOnReadyHandler(() -> {
          while (requests.isReady() && !callStatus.isDone()) {
            requests.onNext(message);
          }
          floodPushedBack.countDown();
        });
      }

      @Override
      public void onNext(byte[] value) {}

      @Override
      public void onError(Throwable t) {
        callStatus.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        callStatus.complete(Status.OK);
      }
    };
  }
}
