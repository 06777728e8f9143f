package dev.grpclean.alts.handshake;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.transport.spi.Handshaker;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** A server's cap on handshakes in progress: refused beyond it, slots back on every ending. */
public class HandshakeLimiterTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  @Test
  public void handshakesBeyondTheCapAreRefusedAndEveryEndingFreesItsSlot() throws Exception {
    AltsLikeIdentity clientId = AltsLikeIdentity.generate();
    AltsLikeIdentity serverId = AltsLikeIdentity.generate();
    AltsLikeHandshakerFactory servers = new AltsLikeHandshakerFactory(
        HandshakeOptions.newBuilder().identity(serverId).acceptPeers(List.of(
            clientId.publicKey())).maxConcurrentHandshakes(2).build(), false);
    AltsLikeHandshakerFactory clients = new AltsLikeHandshakerFactory(
        HandshakeOptions.newBuilder().identity(clientId).acceptPeers(List.of(
            serverId.publicKey())).build(), true);

    Handshaker closed = started(servers);
    Handshaker completed = started(servers);
    assertEquals(2, servers.handshakesInProgress());
    Handshaker refused = servers.newHandshaker(null, null);
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> refused.start(ByteBuffer.allocate(refused.maxOutputBytes())));
    assertEquals("server already has 2 ALTS-like handshakes in progress"
        + " (maxConcurrentHandshakes); refusing this one", e.getMessage());
    refused.close();
    assertEquals(2, servers.handshakesInProgress());

    // Closing one (a connection that went away) frees its slot, once.
    closed.close();
    closed.close();
    assertEquals(1, servers.handshakesInProgress());
    Handshaker failed = started(servers);
    assertEquals(2, servers.handshakesInProgress());

    // A failure frees its slot.
    ByteBuffer garbage = ByteBuffer.wrap(new byte[] {8, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0});
    assertThrows(HandshakeException.class,
        () -> failed.onBytes(garbage, ByteBuffer.allocate(failed.maxOutputBytes())));
    assertEquals(1, servers.handshakesInProgress());

    // Completion frees its slot.
    Handshaker client = clients.newHandshaker("localhost", null);
    ByteBuffer toServer = ByteBuffer.allocate(client.maxOutputBytes());
    client.start(toServer);
    ByteBuffer toClient = ByteBuffer.allocate(completed.maxOutputBytes());
    completed.onBytes(toServer.flip(), toClient);
    toServer.clear();
    assertTrue(client.onBytes(toClient.flip(), toServer));
    assertTrue(completed.onBytes(toServer.flip(),
        ByteBuffer.allocate(completed.maxOutputBytes())));
    assertEquals(0, servers.handshakesInProgress());
    completed.close();
    assertEquals(0, servers.handshakesInProgress());
  }

  private static Handshaker started(AltsLikeHandshakerFactory factory) throws Exception {
    Handshaker h = factory.newHandshaker(null, null);
    h.start(ByteBuffer.allocate(h.maxOutputBytes()));
    return h;
  }
}
