package dev.grpclean.transport;

import static dev.grpclean.transport.FaultFixtures.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.FaultFixtures.ServerCallProbe;
import dev.grpclean.transport.FaultFixtures.ServerStreamCloses;
import dev.grpclean.transport.contract.ServerTransportCounter;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Settings;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The client of a lean server disappears mid-call: its socket is reset (SO_LINGER 0), or it
 * half-closes (FIN) in the middle of a request, or it resets while the server's writer is blocked
 * on a full socket. The server must cancel the call (the application's onCancel and Context
 * cancellation both fire), terminate the transport, and return every lease.
 *
 * <p>The client is a {@link RawHttp2Client} so the test decides the exact moment and manner of
 * its disappearance. The JUnit thread drives it; handlers run on grpc-core's executor and talk to
 * the test only through the latches and futures of {@link ServerCallProbe}.
 */
public class ServerPeerLossTest {
  private static final Logger log = Logger.getLogger(ServerPeerLossTest.class.getName());

  /** Bytes of each message the flooding download sends. */
  private static final int FLOOD_MESSAGE_BYTES = 32 * 1024;
  /** Bytes; a small client receive buffer, so the server's socket fills quickly. */
  private static final int SMALL_RECEIVE_BUFFER_BYTES = 16 * 1024;

  @Rule public final Timeout timeout = Timeout.seconds(60);

  private final ServerCallProbe probe = new ServerCallProbe();
  private final ServerTransportCounter transports = new ServerTransportCounter();
  private final ServerStreamCloses closes = new ServerStreamCloses();
  /** Counted down by the upload handler for every request message. */
  private final CountDownLatch uploadMessage = new CountDownLatch(1);
  /** Counted down by the flooding download once isReady() turned false: it was pushed back. */
  private final CountDownLatch floodPushedBack = new CountDownLatch(1);
  /** Counted down by the unary handler once its response is handed to grpc-core. */
  private final CountDownLatch unaryResponseWritten = new CountDownLatch(1);
  private Server server;
  /** The server's only poller thread: a dedicated group of one. */
  private Thread serverLoop;
  private long baseline;

  @Before
  public void startServer() throws IOException {
    baseline = LeanLeases.baseline();
    Set<Thread> pollersBefore = FaultFixtures.pollerThreads();
    server = LeanServerBuilder.forPort(0)
        .pollerThreads(1)
        .addTransportFilter(transports)
        .addStreamTracerFactory(closes)
        .addService(service())
        .addService(Echo.service())
        .build()
        .start();
    serverLoop = FaultFixtures.onlyThread(FaultFixtures.newPollerThreads(pollersBefore));
  }

  @After
  public void stopServer() throws InterruptedException {
    server.shutdownNow();
    assertTrue("server terminates", server.awaitTermination(10, TimeUnit.SECONDS));
  }

  @Test
  public void resetDuringServerStreamingCancelsTheCall() throws Exception {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(c.headers(1, RawFrames.grpcRequestHeaders(FaultFixtures.DOWNLOAD
              .getFullMethodName()), false),
          RawFrames.data(1, RawFrames.grpcMessage(new byte[] {1}), true));
      // The response is under way: its first message reached us.
      c.awaitFrame(f -> f.type == FrameType.DATA && f.streamId == 1, RawHttp2Client.DEFAULT_WAIT);
      c.abort();
    }
    assertServerSawConnectionLoss();
  }

  @Test
  public void resetDuringClientStreamingCancelsTheCall() throws Exception {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(c.headers(1, RawFrames.grpcRequestHeaders(FaultFixtures.UPLOAD
              .getFullMethodName()), false),
          RawFrames.data(1, RawFrames.grpcMessage(new byte[100]), false));
      await(uploadMessage, "the upload handler's first message");
      c.abort();
    }
    assertServerSawConnectionLoss();
  }

  @Test
  public void halfCloseMidRequestCancelsTheCallAndClosesTheConnection() throws Exception {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(c.headers(1, RawFrames.grpcRequestHeaders(FaultFixtures.UPLOAD
              .getFullMethodName()), false),
          RawFrames.data(1, RawFrames.grpcMessage(new byte[100]), false));
      await(uploadMessage, "the upload handler's first message");
      // FIN in the middle of the request: HTTP/2 has no half-closed connection, so the server
      // cannot finish the call and closes the connection.
      c.shutdownOutput();
      c.awaitClosed(RawHttp2Client.DEFAULT_WAIT);
      assertTrue("server closed the connection", c.closedByPeer());
    }
    assertServerSawConnectionLoss();
  }

  /**
   * A unary handler has passed its response to grpc-core, which keeps it in the framer until the
   * handler completes the call; the client resets first, and the handler, seeing the call
   * cancelled, never completes it (as an application that checks {@code isCancelled()} does).
   * The response buffer the framer holds must be given up with the stream.
   */
  @Test
  public void resetBeforeUnaryHandlerCompletesReturnsTheHeldResponse() throws Exception {
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(c.headers(1, RawFrames.grpcRequestHeaders(FaultFixtures.UNARY
              .getFullMethodName()), false),
          RawFrames.data(1, RawFrames.grpcMessage(new byte[] {1}), true));
      await(unaryResponseWritten, "the unary handler's onNext");
      c.abort();
    }
    assertServerSawConnectionLoss();
  }

  /**
   * The client stops reading, so the server's writer blocks holding a write buffer the socket
   * would not take; then the client resets. That buffer, the queued response bytes and the
   * framer's buffers must all go back to the pools.
   */
  @Test
  public void resetWhileWriterBlockedOnFullSocketReturnsItsBuffer() throws Exception {
    try (RawHttp2Client c =
        RawHttp2Client.connect(server.getPort(), SMALL_RECEIVE_BUFFER_BYTES)) {
      // Windows as large as HTTP/2 allows: only the socket can stop the server.
      c.send(RawFrames.preface(),
          RawFrames.settings(Settings.INITIAL_WINDOW_SIZE, FrameType.MAX_WINDOW),
          RawFrames.windowUpdate(0, FrameType.MAX_WINDOW - FrameType.DEFAULT_INITIAL_WINDOW));
      c.awaitFrame(f -> f.type == FrameType.SETTINGS && !f.ack(), RawHttp2Client.DEFAULT_WAIT);
      c.send(RawFrames.settingsAck());
      c.awaitFrame(f -> f.type == FrameType.SETTINGS && f.ack(), RawHttp2Client.DEFAULT_WAIT);
      c.send(c.headers(1, RawFrames.grpcRequestHeaders(FaultFixtures.BIDI
              .getFullMethodName()), false),
          RawFrames.data(1, RawFrames.grpcMessage(new byte[] {1}), true));
      // From here on the client reads nothing.
      await(floodPushedBack, "the flooding handler seeing isReady() false");
      FaultFixtures.awaitWriterBlockedOnSocket(serverLoop);
      c.abort();
    }
    assertServerSawConnectionLoss();
  }

  /** Cancelled on both signals, UNAVAILABLE from the transport, transport gone, leases back. */
  private void assertServerSawConnectionLoss() throws Exception {
    probe.assertCancelled();
    Status status = closes.next();
    log.info("server stream closed with " + status);
    assertEquals(status.toString(), Status.Code.UNAVAILABLE, status.getCode());
    transports.awaitTerminated(1, FaultFixtures.WAIT);
    assertEquals("connections", 1, transports.ready());
    LeanLeases.assertBackTo(baseline);
    // The server itself is unharmed: a new client is served.
    FaultFixtures.assertEchoServed(server);
    LeanLeases.assertBackTo(baseline);
  }

  private ServerServiceDefinition service() {
    return ServerServiceDefinition.builder(FaultFixtures.SERVICE)
        // Answers, but leaves completing the call for later, which never comes.
        .addMethod(FaultFixtures.UNARY, ServerCalls.asyncUnaryCall((request, responses) -> {
          probe.attach(responses);
          responses.onNext(new byte[1000]);
          unaryResponseWritten.countDown();
        }))
        // Sends one message, then leaves the call open until the client goes away.
        .addMethod(FaultFixtures.DOWNLOAD, ServerCalls.asyncServerStreamingCall(
            (request, responses) -> {
              probe.attach(responses);
              responses.onNext(new byte[100]);
            }))
        // Consumes request messages and never answers.
        .addMethod(FaultFixtures.UPLOAD, ServerCalls.asyncClientStreamingCall(responses -> {
          probe.attach(responses);
          return new StreamObserver<byte[]>() {
            @Override
            public void onNext(byte[] value) {
              uploadMessage.countDown();
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          };
        }))
        // Sends as fast as flow control lets it until the call is cancelled (the request
        // observer ignores the request: the flood starts when the call is ready).
        .addMethod(FaultFixtures.BIDI, ServerCalls.asyncBidiStreamingCall(responses -> {
          probe.attach(responses);
          ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) responses;
          byte[] message = new byte[FLOOD_MESSAGE_BYTES];
          // Runs on the call's serialized executor, each time the call turns ready.
          call.setOnReadyHandler(() -> {
            while (call.isReady() && !call.isCancelled()) {
              call.onNext(message);
            }
            if (!call.isCancelled()) {
              floodPushedBack.countDown();
            }
          });
          return new StreamObserver<byte[]>() {
            @Override
            public void onNext(byte[] value) {}

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          };
        }))
        .build();
  }
}
