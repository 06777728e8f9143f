package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import io.grpc.CallOptions;
import io.grpc.InternalChannelz;
import io.grpc.InternalChannelz.ChannelStats;
import io.grpc.InternalChannelz.ServerStats;
import io.grpc.InternalChannelz.SocketStats;
import io.grpc.InternalInstrumented;
import io.grpc.InternalWithLogId;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.ClientCalls;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Channelz's view of a lean connection from both ends: each transport's socket stats name its
 * own and its peer's address, so the client's local address is the server's remote one and the
 * other way round, and the streams and messages counted match the calls made.
 */
public class TransportSocketStatsTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private Server server;
  private ManagedChannel channel;

  @After
  public void tearDown() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  public void socketStatsNameBothEndsOnEachSide() throws Exception {
    server = LeanServerBuilder.forPort(0).addService(Echo.service()).build().start();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    for (int i = 0; i < 3; i++) {
      ClientCalls.blockingUnaryCall(channel, Echo.UNARY,
          CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[] {(byte) i});
    }
    InternalChannelz channelz = InternalChannelz.instance();

    @SuppressWarnings("unchecked")
    InternalInstrumented<ServerStats> instrumentedServer = (InternalInstrumented<ServerStats>) server;
    List<InternalWithLogId> serverSockets =
        channelz.getServerSockets(instrumentedServer.getLogId().getId(), 0, 10).sockets;
    assertEquals(1, serverSockets.size());
    InternalWithLogId serverSocket = serverSockets.get(0);
    // The server closes its end of a call after its trailers are written, which may be just
    // after the client has read them.
    Conditions.await(() -> {
      SocketStats stats = socketStatsUnchecked(channelz, serverSocket);
      return stats.data.streamsSucceeded + stats.data.streamsFailed >= 3;
    }, Duration.ofSeconds(10), () -> "the server never closed its 3 streams");
    SocketStats serverSide = socketStats(channelz, serverSocket);

    SocketStats clientSide = socketStats(channelz, clientSocket(channelz, server.getPort()));

    InetSocketAddress serverLocal = (InetSocketAddress) serverSide.local;
    InetSocketAddress clientLocal = (InetSocketAddress) clientSide.local;
    assertNotNull(serverLocal);
    assertNotNull(clientLocal);
    assertEquals(server.getPort(), serverLocal.getPort());
    assertEquals(serverLocal, clientSide.remote);
    assertEquals(clientLocal, serverSide.remote);
    // Each call counted once per side: grpc-core's stream states already report stream start
    // (server) and close (both sides) to the transport tracer.
    for (SocketStats side : new SocketStats[] {clientSide, serverSide}) {
      assertEquals(3, side.data.streamsStarted);
      assertEquals(3, side.data.streamsSucceeded);
      assertEquals(0, side.data.streamsFailed);
      assertEquals(3, side.data.messagesSent);
      assertEquals(3, side.data.messagesReceived);
    }
  }

  private static SocketStats socketStats(InternalChannelz channelz, InternalWithLogId socket)
      throws Exception {
    InternalInstrumented<SocketStats> instrumented = channelz.getSocket(socket.getLogId().getId());
    assertNotNull("channelz lost socket " + socket.getLogId(), instrumented);
    return instrumented.getStats().get(10, TimeUnit.SECONDS);
  }

  private static SocketStats socketStatsUnchecked(InternalChannelz channelz,
      InternalWithLogId socket) {
    try {
      return socketStats(channelz, socket);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The one transport socket of the channel whose target names {@code port}. */
  private static InternalWithLogId clientSocket(InternalChannelz channelz, int port)
      throws Exception {
    List<InternalWithLogId> sockets = new ArrayList<>();
    for (InternalInstrumented<ChannelStats> root : channelz.getRootChannels(0, 1000).channels) {
      ChannelStats stats = root.getStats().get(10, TimeUnit.SECONDS);
      if (!stats.target.endsWith(":" + port)) {
        continue;
      }
      for (InternalWithLogId sub : stats.subchannels) {
        ChannelStats subStats =
            channelz.getSubchannel(sub.getLogId().getId()).getStats().get(10, TimeUnit.SECONDS);
        sockets.addAll(subStats.sockets);
      }
    }
    assertEquals(1, sockets.size());
    assertTrue(sockets.get(0) instanceof InternalInstrumented);
    return sockets.get(0);
  }
}
