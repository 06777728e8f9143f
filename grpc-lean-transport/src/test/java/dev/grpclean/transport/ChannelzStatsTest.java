package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.InternalChannelz;
import io.grpc.InternalChannelz.ServerSocketsList;
import io.grpc.InternalChannelz.SocketStats;
import io.grpc.InternalInstrumented;
import io.grpc.InternalWithLogId;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * What channelz shows of a lean server connection: each stream and message once, the windows,
 * and the socket's options.
 */
public class ChannelzStatsTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);
  private static final int CALLS = 5;

  @Test
  public void serverSocketCountsEachStreamAndMessageOnce() throws Exception {
    Server server = LeanServerBuilder.forPort(0).flowControlWindow(256 * 1024)
        .addService(Echo.service()).build().start();
    ManagedChannel channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().build();
    try {
      for (int i = 0; i < CALLS; i++) {
        assertArrayEquals(new byte[7], Echo.call(channel, new byte[7]));
      }
      long serverId = ((InternalWithLogId) server).getLogId().getId();
      ServerSocketsList sockets =
          InternalChannelz.instance().getServerSockets(serverId, 0, 10);
      assertNotNull("server not in channelz", sockets);
      assertEquals(1, sockets.sockets.size());
      @SuppressWarnings("unchecked") // channelz lists server sockets as their log ids
      InternalInstrumented<SocketStats> socket =
          (InternalInstrumented<SocketStats>) sockets.sockets.get(0);
      SocketStats stats = socket.getStats().get(10, TimeUnit.SECONDS);
      InternalChannelz.TransportStats data = stats.data;
      assertEquals(CALLS, data.streamsStarted);
      assertEquals(CALLS, data.streamsSucceeded);
      assertEquals(0, data.streamsFailed);
      assertEquals(CALLS, data.messagesReceived);
      assertEquals(CALLS, data.messagesSent);
      // Our connection receive window: the configured one less the request bytes not yet
      // acknowledged by a WINDOW_UPDATE (sent once half the window is consumed).
      assertTrue(String.valueOf(data.localFlowControlWindow),
          data.localFlowControlWindow > 256 * 1024 - 1024
              && data.localFlowControlWindow <= 256 * 1024);
      assertTrue(String.valueOf(data.remoteFlowControlWindow), data.remoteFlowControlWindow > 0);
      assertEquals("true", stats.socketOptions.others.get("TCP_NODELAY"));
      assertTrue(stats.socketOptions.others.toString(),
          Integer.parseInt(stats.socketOptions.others.get("SO_SNDBUF")) > 0);
      assertTrue(stats.socketOptions.others.toString(),
          stats.socketOptions.others.containsKey("SO_RCVBUF"));
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    LeanLeases.assertNoneLeased();
  }
}
