package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.grpclean.transport.RawHttp2Client.Frame;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.Observers;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Floods and abuse from a hostile peer (the hardening issue's list), each against its own lean
 * server: the server answers with the response the protection promises (GOAWAY
 * ENHANCE_YOUR_CALM, RST_STREAM, a refused connection), the streams the peer opened leave no
 * call or lease behind, and the same flood without the protection (where it can be switched off)
 * is shown to go through, so each test fails without its protection.
 */
public class HostilePeerTest {
  @Rule public final Timeout timeout = Timeout.seconds(90);

  private static final Duration WAIT = RawHttp2Client.DEFAULT_WAIT;

  /** Client streaming; the handler never requests a message and records cancellations. */
  private static final MethodDescriptor<byte[], byte[]> HOLD =
      Echo.UNARY.toBuilder()
          .setType(MethodDescriptor.MethodType.CLIENT_STREAMING)
          .setFullMethodName("test.Hostile/Hold")
          .build();
  /** Server streaming: 64 KiB messages, without regard to isReady() (a careless handler). */
  private static final MethodDescriptor<byte[], byte[]> FLOOD =
      Echo.UNARY.toBuilder()
          .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
          .setFullMethodName("test.Hostile/Flood")
          .build();
  /** Server streaming that honours isReady(): stops writing while the transport is full. */
  private static final MethodDescriptor<byte[], byte[]> POLITE =
      FLOOD.toBuilder().setFullMethodName("test.Hostile/Polite").build();
  private static final int FLOOD_MESSAGE_BYTES = 64 * 1024;
  private static final int FLOOD_MESSAGES = 100;

  private final AtomicInteger callsStarted = new AtomicInteger();
  private final AtomicInteger callsEnded = new AtomicInteger();
  /** Counts FLOOD handlers that finished writing, and POLITE ones that saw isReady() false. */
  private final AtomicInteger writersDone = new AtomicInteger();
  private Server server;

  @After
  public void tearDown() throws Exception {
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    LeanLeases.assertAllReturned();
  }

  // ------------------------------------------------------------------ Rapid Reset

  @Test
  public void rapidResetIsAnsweredWithEnhanceYourCalmAndLeavesNoCall() throws Exception {
    server = start(LeanServerBuilder.forPort(0).maxRstFramesPerWindow(100, 60));
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(openAndReset(c, 1, 300));
      Frame goAway = c.awaitGoAway();
      assertEquals(goAway.toString(), ErrorCode.ENHANCE_YOUR_CALM, goAway.errorCode());
      assertTrue(goAway.toString(), goAway.debugData().contains("maxRstFramesPerWindow"));
      // The budget (100) was spent before the answer: more than 100 of the streams 1, 3, 5, ...
      // were taken. Read from GOAWAY's last stream id, not from handlers started: grpc-core never
      // starts the handler of a stream cancelled before its call began (a busy executor).
      assertTrue("the server stopped early: " + goAway, goAway.lastStreamId() >= 201);
      c.awaitClosed(WAIT);
      assertTrue(c.closedByPeer());
    }
    // Every call the flood started has ended: nothing left running for a peer that is gone.
    Conditions.await(() -> callsStarted.get() == callsEnded.get(), WAIT,
        () -> callsStarted + " calls started, " + callsEnded + " ended");
    BadInputTest.assertEchoWorks(server);
  }

  @Test
  public void withoutTheResetBudgetTheSameFloodIsServed() throws Exception {
    server = start(LeanServerBuilder.forPort(0).maxRstFramesPerWindow(0, 60));
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(openAndReset(c, 1, 300));
      BadInputTest.assertEchoOnRawConnection(c, 601, new byte[] {1, 2, 3});
    }
    // A call reset in the read that opened it never reaches the application (StartsAfterRead);
    // one whose reset came in a later read started and was cancelled. None is left running.
    Conditions.await(() -> callsStarted.get() == callsEnded.get(), WAIT,
        () -> callsStarted + " calls started, " + callsEnded + " ended");
    assertTrue(callsStarted + " calls started", callsStarted.get() <= 300);
  }

  @Test
  public void defaultResetBudgetAllowsAClientThatCancelsItsCalls() throws Exception {
    server = start(LeanServerBuilder.forPort(0));
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      c.send(openAndReset(c, 1, ResetBudget.DEFAULT_MAX_RESETS));
      BadInputTest.assertEchoOnRawConnection(c, 1 + 2 * ResetBudget.DEFAULT_MAX_RESETS,
          new byte[] {4});
      // The completed echo earned one more reset; the second one is over the budget.
      c.send(openAndReset(c, 3 + 2 * ResetBudget.DEFAULT_MAX_RESETS, 1));
      c.send(RawFrames.ping(false, 5));
      c.awaitFrame(f -> f.type == FrameType.PING && f.ack(), WAIT);
      c.send(openAndReset(c, 5 + 2 * ResetBudget.DEFAULT_MAX_RESETS, 1));
      assertEquals(ErrorCode.ENHANCE_YOUR_CALM, c.awaitGoAway().errorCode());
    }
  }

  /** HEADERS for HOLD then RST_STREAM(CANCEL), {@code count} times from {@code firstId}. */
  private static byte[] openAndReset(RawHttp2Client c, int firstId, int count) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0, id = firstId; i < count; i++, id += 2) {
      out.writeBytes(c.headers(id, RawFrames.grpcRequestHeaders(HOLD.getFullMethodName()),
          false));
      out.writeBytes(RawFrames.rstStream(id, ErrorCode.CANCEL));
    }
    return out.toByteArray();
  }

  // ------------------------------------------------------------------ frames that carry nothing

  @Test
  public void emptyDataFloodIsEnhanceYourCalm() throws Exception {
    server = start(LeanServerBuilder.forPort(0));
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(c.headers(1, RawFrames.grpcRequestHeaders(HOLD.getFullMethodName()),
          false));
      for (int i = 0; i < ConnectionFlow.MAX_CONSECUTIVE_EMPTY_DATA_FRAMES; i++) {
        out.writeBytes(RawFrames.data(1, new byte[0], false));
      }
      c.send(out.toByteArray());
      // Ten are tolerated: the connection still answers a PING.
      c.send(RawFrames.ping(false, 7));
      c.awaitFrame(f -> f.type == FrameType.PING && f.ack(), WAIT);
      c.send(RawFrames.data(1, new byte[0], false));
      assertGoAwayThenClosed(c, ErrorCode.ENHANCE_YOUR_CALM, "DATA frames without payload");
    }
  }

  @Test
  public void emptyContinuationFloodIsEnhanceYourCalm() throws Exception {
    server = start(LeanServerBuilder.forPort(0));
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      byte[] block = c.headerBlock(1, RawFrames.grpcRequestHeaders(HOLD.getFullMethodName()));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(RawFrames.frame(FrameType.HEADERS, 0, 1, block));
      for (int i = 0; i < 1000; i++) {
        out.writeBytes(RawFrames.frame(FrameType.CONTINUATION, 0, 1, new byte[0]));
      }
      c.send(out.toByteArray());
      assertGoAwayThenClosed(c, ErrorCode.ENHANCE_YOUR_CALM, "empty CONTINUATION");
    }
  }

  @Test
  public void continuationFloodIsStoppedAtTheBlockCapNamingTheLimit() throws Exception {
    server = start(LeanServerBuilder.forPort(0));
    int capBytes = new TransportSettings(1, 8192, 1, 1).maxHeaderBlockBytes();
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      byte[] block = c.headerBlock(1, RawFrames.grpcRequestHeaders(HOLD.getFullMethodName()));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(RawFrames.frame(FrameType.HEADERS, 0, 1, block));
      // Twice the cap in 1 KiB fragments that never end the block.
      for (int sent = 0; sent < 2 * capBytes; sent += 1024) {
        out.writeBytes(RawFrames.frame(FrameType.CONTINUATION, 0, 1, new byte[1024]));
      }
      sendIgnoringClose(c, out.toByteArray());
      assertGoAwayThenClosed(c, ErrorCode.ENHANCE_YOUR_CALM, "maxHeaderBlockBytes");
    }
  }

  @Test
  public void hpackBombIsRefusedWithinTheHeaderListLimit() throws Exception {
    server = start(LeanServerBuilder.forPort(0));
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      // Stream 1 puts a 900-byte header in the HPACK table (our encoder's table holds 1 KiB).
      String big = "b".repeat(900);
      Http2Headers first = RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName())
          .add("x-bomb", big);
      c.send(c.headers(1, first, false),
          RawFrames.data(1, RawFrames.grpcMessage(new byte[] {1}), true));
      c.awaitStreamEnd(1);
      // Stream 3 refers to it 1000 times: about 900 KB decoded from about 1 KB on the wire.
      Http2Headers bomb = RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName());
      for (int i = 0; i < 1000; i++) {
        bomb.add("x-bomb", big);
      }
      byte[] block = c.headerBlock(3, bomb);
      assertTrue("the block should be tiny: " + block.length, block.length < 4096);
      c.send(RawFrames.headerFrames(3, block, true, RawFrames.MAX_FRAME_BYTES));
      Frame answer = c.awaitStreamAnswer(3);
      assertEquals(answer.toString(), "431", answer.header(":status"));
      assertTrue(answer.toString(), answer.header("grpc-message").contains("(8192)"));
      // Only that stream failed; the HPACK state is intact and the connection still serves.
      BadInputTest.assertEchoOnRawConnection(c, 5, new byte[] {9});
    }
  }

  @Test
  public void windowUpdateFloodIsEnhanceYourCalm() throws Exception {
    server = start(LeanServerBuilder.forPort(0));
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (int i = 0; i <= ConnectionFlow.WINDOW_UPDATE_ALLOWANCE; i++) {
        out.writeBytes(RawFrames.windowUpdate(0, 1));
      }
      c.send(out.toByteArray());
      assertGoAwayThenClosed(c, ErrorCode.ENHANCE_YOUR_CALM, "WINDOW_UPDATE flood");
    }
  }

  @Test
  public void windowUpdatesAnsweringOurDataAreNotAFlood() throws Exception {
    server = start(LeanServerBuilder.forPort(0));
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      // 1000 allowed up front, then two per DATA frame the server writes: 600 echoes earn 1200.
      for (int id = 1; id < 1200; id += 2) {
        BadInputTest.assertEchoOnRawConnection(c, id, new byte[] {(byte) id});
        c.send(RawFrames.windowUpdate(0, 1), RawFrames.windowUpdate(0, 1),
            RawFrames.windowUpdate(0, 1));
      }
      c.send(RawFrames.ping(false, 1));
      c.awaitFrame(f -> f.type == FrameType.PING && f.ack(), WAIT);
    }
  }

  @Test
  public void settingsFloodFromAPeerThatDoesNotReadIsCut() throws Exception {
    server = start(LeanServerBuilder.forPort(0));
    LogCapture errors = LogCapture.of(ConnectionClosing.class);
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort(), 4096)) {
      c.send(RawFrames.preface(), RawFrames.settings());
      byte[] chunk = repeat(RawFrames.settings(), 7000);
      // The server's socket buffer (up to 4 MiB here) takes its acks first, then its writer
      // queues 10,000 more; about 2 MB of SETTINGS reach that, and 40 MB prove it does not end.
      long sent = 0;
      try {
        while (sent < 40L << 20) {
          c.send(chunk);
          sent += chunk.length;
        }
        fail("the server kept acknowledging SETTINGS nobody read: " + sent + " bytes sent");
      } catch (IOException closed) {
        // The server went away mid-flood.
      }
    } finally {
      errors.close();
    }
    assertTrue(errors.messages().toString(),
        errors.messages().stream().anyMatch(m -> m.contains("too many queued control frames")));
  }

  // ------------------------------------------------------------------ slow readers

  @Test
  public void slowReaderMakesCarelessStreamsResetNotBufferedWithoutBound() throws Exception {
    long cap = 1 << 20;
    server = start(LeanServerBuilder.forPort(0).maxQueuedBytesPerConnection(cap));
    try (RawHttp2Client c = openWithClosedWindows()) {
      for (int id = 1; id <= 7; id += 2) {
        requestStream(c, id, FLOOD);
      }
      // Four handlers write 100 x 64 KiB each (25 MiB) into a connection that cannot send.
      Conditions.await(() -> writersDone.get() == 4, WAIT, () -> writersDone + " done");
      Conditions.await(() -> LeanTransportStats.leasedBytes() <= cap + FLOOD_MESSAGE_BYTES, WAIT,
          () -> "queued past the cap: " + LeanTransportStats.describe());
      for (int id = 1; id <= 7; id += 2) {
        Frame answer = c.awaitFrame(f -> f.type == FrameType.RST_STREAM, WAIT);
        assertEquals(answer.toString(), ErrorCode.ENHANCE_YOUR_CALM, answer.errorCode());
      }
    }
    Conditions.await(() -> callsEnded.get() == 4, WAIT, () -> callsEnded + " calls ended");
  }

  @Test
  public void slowReaderDoesNotResetStreamsThatHonourIsReady() throws Exception {
    server = start(LeanServerBuilder.forPort(0).maxQueuedBytesPerConnection(1 << 20));
    try (RawHttp2Client c = openWithClosedWindows()) {
      for (int id = 1; id <= 7; id += 2) {
        requestStream(c, id, POLITE);
      }
      Conditions.await(() -> writersDone.get() == 4, WAIT, () -> writersDone + " blocked");
      c.send(RawFrames.ping(false, 3));
      c.awaitFrame(f -> f.type == FrameType.PING && f.ack(), WAIT);
      assertTrue(c.received().toString(),
          c.received().stream().noneMatch(f -> f.type == FrameType.RST_STREAM));
      assertEquals(0, callsEnded.get());
    }
  }

  @Test
  public void clientWhoseServerStopsReadingFailsTheCallWithResourceExhausted() throws Exception {
    server = start(LeanServerBuilder.forPort(0).flowControlWindow(65535));
    ManagedChannel channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().maxQueuedBytesPerConnection(256 * 1024).build();
    try {
      ClientCall<byte[], byte[]> call = channel.newCall(HOLD,
          CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS));
      CompletableFuture<Status> closed = new CompletableFuture<>();
      call.start(Observers.closingIn(closed), new Metadata());
      byte[] message = new byte[FLOOD_MESSAGE_BYTES];
      for (int i = 0; i < 20 && !closed.isDone(); i++) {
        call.sendMessage(message); // ignoring isReady(): 1.25 MiB for a 64 KiB window
      }
      Status status = closed.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertEquals(status.toString(), Status.Code.RESOURCE_EXHAUSTED, status.getCode());
      assertTrue(status.toString(),
          status.getDescription().contains("maxQueuedBytesPerConnection"));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Handshakes with SETTINGS_INITIAL_WINDOW_SIZE 0: the server can send no DATA at all. */
  private RawHttp2Client openWithClosedWindows() throws IOException {
    return RawHttp2Client.connect(server.getPort()).handshakeWithClosedWindows(WAIT);
  }

  private static void requestStream(RawHttp2Client c, int id, MethodDescriptor<?, ?> method)
      throws IOException {
    c.sendRequest(id, method, new byte[] {1});
  }

  @Test
  public void malformedGrpcTimeoutFailsOnlyItsStream() throws Exception {
    server = start(LeanServerBuilder.forPort(0));
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      // grpc-core throws parsing it before it listens to the stream (found by the fuzz target).
      c.send(c.headers(1, RawFrames.grpcRequestHeaders(Echo.UNARY.getFullMethodName())
              .add("grpc-timeout", "x"), false),
          RawFrames.data(1, RawFrames.grpcMessage(new byte[] {1}), true));
      Frame answer = c.awaitStreamAnswer(1);
      assertEquals(answer.toString(), FrameType.RST_STREAM, answer.type);
      assertEquals(answer.toString(), ErrorCode.INTERNAL_ERROR, answer.errorCode());
      BadInputTest.assertEchoOnRawConnection(c, 3, new byte[] {2});
    }
    BadInputTest.assertEchoWorks(server);
  }

  // ------------------------------------------------------------------ half-open peers

  @Test
  public void peerThatSendsOnlyThePrefaceIsClosedAtTheHandshakeTimeout() throws Exception {
    server = start(LeanServerBuilder.forPort(0).handshakeTimeout(300, TimeUnit.MILLISECONDS));
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort())) {
      c.send(RawFrames.preface()); // and never its SETTINGS
      assertGoAwayThenClosed(c, ErrorCode.PROTOCOL_ERROR, "handshake timeout");
    }
  }

  // ------------------------------------------------------------------ connection cap

  @Test
  public void connectionsPastTheCapAreClosedAtOnceWithALogLine() throws Exception {
    LogCapture warnings = LogCapture.of(LeanServer.class);
    server = start(LeanServerBuilder.forPort(0).maxConnections(2));
    try (RawHttp2Client a = RawHttp2Client.connect(server.getPort()).handshake();
        RawHttp2Client b = RawHttp2Client.connect(server.getPort()).handshake()) {
      try (RawHttp2Client refused = RawHttp2Client.connect(server.getPort())) {
        refused.send(RawFrames.preface(), RawFrames.settings());
        refused.awaitClosed(WAIT);
        assertTrue(refused.closedByPeer());
        assertTrue("no SETTINGS from a refused connection: " + refused.received(),
            refused.received().isEmpty());
      }
      // The accept loop logs just after it closed the connection.
      Conditions.await(
          () -> warnings.messages().stream().anyMatch(m -> m.contains("maxConnections")), WAIT,
          warnings::toString);
      a.close();
      // Once the server has seen one go, a new connection is served again.
      Conditions.await(() -> handshakes(server.getPort()), WAIT, () -> "no room after a close");
    } finally {
      warnings.close();
    }
  }

  /** Whether a new connection completes the HTTP/2 handshake (false if it is refused). */
  private static boolean handshakes(int port) {
    try (RawHttp2Client c = RawHttp2Client.connect(port)) {
      c.handshake();
      return true;
    } catch (IOException | AssertionError refused) {
      return false;
    }
  }

  // ------------------------------------------------------------------ helpers

  private Server start(LeanServerBuilder builder) throws IOException {
    ServerCallHandler<byte[], byte[]> hold = (call, headers) -> {
      callsStarted.incrementAndGet();
      return new ServerCall.Listener<>() {
        @Override
        public void onCancel() {
          callsEnded.incrementAndGet();
        }

        @Override
        public void onComplete() {
          callsEnded.incrementAndGet();
        }
      };
    };
    ServerCallHandler<byte[], byte[]> flood = (call, headers) -> {
      call.request(1);
      return new ServerCall.Listener<>() {
        @Override
        public void onHalfClose() {
          call.sendHeaders(new Metadata());
          byte[] message = new byte[FLOOD_MESSAGE_BYTES];
          for (int i = 0; i < FLOOD_MESSAGES && !call.isCancelled(); i++) {
            call.sendMessage(message);
          }
          writersDone.incrementAndGet();
        }

        @Override
        public void onCancel() {
          callsEnded.incrementAndGet();
        }
      };
    };
    ServerCallHandler<byte[], byte[]> polite = (call, headers) -> {
      call.request(1);
      return new ServerCall.Listener<>() {
        private boolean started;
        private boolean blocked;

        @Override
        public void onHalfClose() {
          call.sendHeaders(new Metadata());
          started = true;
          onReady();
        }

        @Override
        public void onReady() {
          if (!started || blocked) {
            return;
          }
          byte[] message = new byte[FLOOD_MESSAGE_BYTES];
          while (call.isReady()) {
            call.sendMessage(message);
          }
          blocked = true;
          writersDone.incrementAndGet();
        }

        @Override
        public void onCancel() {
          callsEnded.incrementAndGet();
        }
      };
    };
    return builder
        .addService(Echo.service())
        .addService(ServerServiceDefinition.builder("test.Hostile")
            .addMethod(HOLD, hold)
            .addMethod(FLOOD, flood)
            .addMethod(POLITE, polite)
            .build())
        .build()
        .start();
  }

  private static void assertGoAwayThenClosed(RawHttp2Client c, ErrorCode code, String reason)
      throws IOException {
    Frame goAway = c.awaitGoAway();
    assertEquals(goAway.toString(), code, goAway.errorCode());
    assertTrue(goAway.toString(), goAway.debugData().contains(reason));
    c.awaitClosed(WAIT);
    assertTrue(c.closedByPeer());
  }

  /** Sends, tolerating the server closing mid-write (it may stop reading once it has decided). */
  private static void sendIgnoringClose(RawHttp2Client c, byte[] bytes) {
    try {
      c.send(bytes);
    } catch (IOException closed) {
      // What the server answered is read next.
    }
  }

  private static byte[] repeat(byte[] frame, int times) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(frame.length * times);
    for (int i = 0; i < times; i++) {
      out.writeBytes(frame);
    }
    return out.toByteArray();
  }

  /** Collects the messages (and thrown messages) a class's logger publishes at FINE and up. */
  static final class LogCapture extends Handler implements AutoCloseable {
    private final Logger logger;
    private final Level previous;
    private final java.util.List<String> messages =
        java.util.Collections.synchronizedList(new java.util.ArrayList<>());

    private LogCapture(Logger logger) {
      this.logger = logger;
      this.previous = logger.getLevel();
      setLevel(Level.FINE);
      logger.setLevel(Level.FINE);
      logger.addHandler(this);
    }

    static LogCapture of(Class<?> c) {
      return new LogCapture(Logger.getLogger(c.getName()));
    }

    java.util.List<String> messages() {
      synchronized (messages) {
        return new java.util.ArrayList<>(messages);
      }
    }

    @Override
    public void publish(LogRecord record) {
      String text = new java.util.logging.SimpleFormatter().formatMessage(record);
      if (record.getThrown() != null) {
        text += " " + record.getThrown().getMessage();
      }
      messages.add(text);
    }

    @Override
    public void flush() {}

    @Override
    public String toString() {
      return "log lines " + messages();
    }

    @Override
    public void close() {
      logger.removeHandler(this);
      logger.setLevel(previous);
    }
  }
}
