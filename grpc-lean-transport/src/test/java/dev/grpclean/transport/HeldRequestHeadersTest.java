package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.Observers;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * A call that sends one message opens its stream with that message: its request headers wait in
 * the client stream's sink and go to the loop in the task of the message and END_STREAM (one loop
 * task per unary request, not two). So a call cancelled before its message never reaches the
 * server, and one whose message comes later opens its stream then.
 *
 * <p>Thread-compatible: each test runs on one thread, with a fresh instance.
 */
public class HeldRequestHeadersTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);
  @Rule public final EchoConnection echo = new EchoConnection();

  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  public void unaryCallCancelledBeforeItsMessageNeverReachesTheServer() throws Exception {
    byte[] request = new byte[10];
    assertArrayEquals(request, Echo.call(echo.channel, request)); // connection set up
    ClientCall<byte[], byte[]> call = echo.channel.newCall(Echo.UNARY, CallOptions.DEFAULT);
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(Observers.closingIn(closed), new Metadata());
    call.request(1);
    call.cancel("cancelled before its message", null);
    assertEquals(Status.Code.CANCELLED, closed.get(20, TimeUnit.SECONDS).getCode());
    assertArrayEquals(request, Echo.call(echo.channel, request));

    ConnectionStatsGroup server = echo.serverBuilder.connectionStats();
    Conditions.await(() -> server.snapshot().framesOut(FrameType.HEADERS) == 4, WAIT,
        () -> "second response incomplete: " + server.snapshot());
    LeanConnectionStats in = server.snapshot();
    assertEquals("request HEADERS: the two calls that sent a message only: " + in, 2,
        in.framesIn(FrameType.HEADERS));
    assertEquals(in.toString(), 0, in.framesIn(FrameType.RST_STREAM));
  }

  @Test
  public void unaryCallOpensItsStreamWithItsMessage() throws Exception {
    byte[] request = new byte[10];
    assertArrayEquals(request, Echo.call(echo.channel, request)); // connection set up
    ConnectionStatsGroup server = echo.serverBuilder.connectionStats();
    Conditions.await(() -> server.snapshot().framesOut(FrameType.HEADERS) == 2, WAIT,
        () -> "first response incomplete: " + server.snapshot());
    ClientCall<byte[], byte[]> call = echo.channel.newCall(Echo.UNARY, CallOptions.DEFAULT);
    CompletableFuture<byte[]> response = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        response.complete(message);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        response.completeExceptionally(status.asRuntimeException());
      }
    }, new Metadata());
    call.request(1);
    // A round trip on another call: had the headers gone to the loop, they would be on the
    // server by now.
    assertArrayEquals(request, Echo.call(echo.channel, request));
    Conditions.await(() -> server.snapshot().framesOut(FrameType.HEADERS) == 4, WAIT,
        () -> "second response incomplete: " + server.snapshot());
    assertEquals(2, server.snapshot().framesIn(FrameType.HEADERS));

    call.sendMessage(request);
    call.halfClose();
    assertArrayEquals(request, response.get(20, TimeUnit.SECONDS));
    assertEquals(3, server.snapshot().framesIn(FrameType.HEADERS));
  }
}
