package dev.grpclean.alts;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.InternalLeanChannelBuilder;
import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The client's handshake timeout against a server that accepts, reads and never answers. */
public class AltsLikeClientHandshakeTimeoutTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Test
  public void clientHandshakeTimeoutFiresAgainstASilentServer() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Integer> clientInitBytes = CompletableFuture.supplyAsync(() -> {
        try (Socket s = silent.accept()) {
          InputStream in = s.getInputStream();
          byte[] header = in.readNBytes(4);
          // Hold the connection open, silent, until the client gives up and closes it.
          int rest = 0;
          while (in.read() >= 0) {
            rest++;
          }
          return header.length + rest;
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      LeanChannelBuilder builder = LeanChannelBuilder.forAddress("127.0.0.1",
          silent.getLocalPort(), AltsLikeChannelCredentials.newBuilder()
              .identity(EchoFixture.generate())
              .acceptPeers(EchoFixture.generate().publicKey()).build());
      InternalLeanChannelBuilder.setHandshakeTimeout(builder, 300, TimeUnit.MILLISECONDS);
      ManagedChannel channel = builder.build();
      try {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
            () -> Echo.call(channel, new byte[] {1}));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription(), e.getStatus().getDescription()
            .matches("HTTP/2 or security handshake with .*" + silent.getLocalPort()
                + " timed out"));
        // The client sent its ClientInit (62 bytes with one protocol) and then closed.
        assertEquals(62, (int) clientInitBytes.get(30, TimeUnit.SECONDS));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        LeanLeases.assertNoneLeased();
      }
    }
  }
}
