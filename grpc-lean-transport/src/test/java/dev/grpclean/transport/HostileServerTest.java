package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.RawHttp2Client.Frame;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.Observers;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The client side of the flood limits: a raw server answers a lean channel's call and then floods
 * it with frames that carry nothing. The client must go away with GOAWAY ENHANCE_YOUR_CALM, fail
 * the call RESOURCE_EXHAUSTED (grpc's mapping of ENHANCE_YOUR_CALM) with the reason, and return
 * every lease, as a lean server does with such a client.
 */
public class HostileServerTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private ServerSocket listener;
  private ManagedChannel channel;
  private long baseline;
  private final CompletableFuture<Status> callStatus = new CompletableFuture<>();

  @Before
  public void setUp() throws IOException {
    baseline = LeanLeases.baseline();
    listener = new ServerSocket();
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
    listener.setSoTimeout((int) FaultFixtures.WAIT.toMillis());
    channel = LeanChannelBuilder.forAddress("127.0.0.1", listener.getLocalPort())
        .usePlaintext().build();
  }

  @After
  public void tearDown() throws Exception {
    channel.shutdownNow();
    assertTrue("channel terminates", channel.awaitTermination(10, TimeUnit.SECONDS));
    listener.close();
  }

  @Test
  public void emptyDataFloodFromTheServerIsEnhanceYourCalm() throws Exception {
    try (RawHttp2Client server = acceptAndRespond()) {
      ByteArrayOutputStream flood = new ByteArrayOutputStream();
      for (int i = 0; i <= ConnectionFlow.MAX_CONSECUTIVE_EMPTY_DATA_FRAMES; i++) {
        flood.writeBytes(RawFrames.data(1, new byte[0], false));
      }
      server.send(flood.toByteArray());
      assertGoAway(server, "DATA frames without payload");
    }
    assertCallFailedAndLeasesBack("DATA frames without payload");
  }

  @Test
  public void windowUpdateFloodFromTheServerIsEnhanceYourCalm() throws Exception {
    try (RawHttp2Client server = acceptAndRespond()) {
      ByteArrayOutputStream flood = new ByteArrayOutputStream();
      // The allowance, two for each DATA frame the client wrote (its request), and then some.
      for (int i = 0; i <= ConnectionFlow.WINDOW_UPDATE_ALLOWANCE + 10; i++) {
        flood.writeBytes(RawFrames.windowUpdate(0, 1));
      }
      server.send(flood.toByteArray());
      assertGoAway(server, "WINDOW_UPDATE flood");
    }
    assertCallFailedAndLeasesBack("WINDOW_UPDATE flood");
  }

  private static void assertGoAway(RawHttp2Client server, String reason) throws IOException {
    Frame goAway = server.awaitGoAway();
    assertEquals(goAway.toString(), ErrorCode.ENHANCE_YOUR_CALM, goAway.errorCode());
    assertTrue(goAway.toString(), goAway.debugData().contains(reason));
    server.awaitClosed(RawHttp2Client.DEFAULT_WAIT);
    assertTrue(server.closedByPeer());
  }

  private void assertCallFailedAndLeasesBack(String reason) throws Exception {
    Status status = FaultFixtures.await(callStatus, "the call's end");
    assertEquals(status.toString(), Status.Code.RESOURCE_EXHAUSTED, status.getCode());
    assertTrue(status.toString(), status.getDescription().contains(reason));
    LeanLeases.assertBackTo(baseline);
  }

  /** Starts a server-streaming call, plays the server up to response headers and a message. */
  private RawHttp2Client acceptAndRespond() throws IOException {
    ClientCalls.asyncServerStreamingCall(
        channel.newCall(FaultFixtures.DOWNLOAD,
            CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS)),
        new byte[] {1},
        Observers.endingIn(callStatus, response -> {}));
    return RawHttp2Client.acceptAndStartResponse(listener);
  }
}
