package dev.grpclean.alts.handshake;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.alts.AltsLikeIdentity;
import java.security.KeyPair;
import java.util.Arrays;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * An active attacker against the handshake, in memory: replay of a recorded client flight to a
 * fresh server, its own X25519 ephemeral swapped into either Init, and the server's proofs
 * reflected as the client's when both sides hold the same identity. Each must fail, in handshake
 * version 1 (identities in clear: the signature or MAC catches it) and version 2 (the encrypted
 * identity part no longer opens).
 */
public class HandshakeAttackTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  /** ClientInit: the client's ephemeral after length, type, magic and both versions. */
  private static final int CLIENT_INIT_EPHEMERAL_AT = 8 + 4 + 2 + 2;
  /** ServerInit: the server's ephemeral after length, type and the chosen version. */
  private static final int SERVER_INIT_EPHEMERAL_AT = 8 + 2;

  private static AltsLikeIdentity clientId;
  private static AltsLikeIdentity serverId;

  @BeforeClass
  public static void identities() throws Exception {
    clientId = AltsLikeIdentity.generate();
    serverId = AltsLikeIdentity.generate();
  }

  private static final int[] VERSIONS = {Messages.VERSION_1, Messages.VERSION_2};

  private static HandshakeOptions client(int version) {
    return HandshakeOptions.newBuilder().handshakeVersions(version, version).identity(clientId)
        .acceptPeers(List.of(serverId.publicKey())).build();
  }

  private static HandshakeOptions server(int version) {
    return HandshakeOptions.newBuilder().handshakeVersions(version, version).identity(serverId)
        .acceptPeers(List.of(clientId.publicKey())).build();
  }

  /** What the side that detects it says: v1's check, or v2's envelope failing to open. */
  private static String expected(int version, String v1Message, String message) {
    return version == Messages.VERSION_1 ? v1Message : message + "'s encrypted identity does"
        + " not authenticate: the handshake was tampered with or the key exchange failed";
  }

  @Test
  public void recordedClientFlightReplayedToAFreshServerFails() throws Exception {
    for (int version : VERSIONS) {
      recordedClientFlightReplayedToAFreshServerFails(version);
    }
  }

  private void recordedClientFlightReplayedToAFreshServerFails(int version) throws Exception {
    HandshakeTest.Session recorded = new HandshakeTest.Session(client(version), server(version));
    byte[] clientInit = recorded.start();
    byte[] serverInit = recorded.deliver(recorded.server, clientInit, Integer.MAX_VALUE);
    byte[] clientFinished = recorded.deliver(recorded.client, serverInit, Integer.MAX_VALUE);
    recorded.deliver(recorded.server, clientFinished, Integer.MAX_VALUE);
    assertTrue(recorded.serverDone);

    // The attacker replays both client messages, in one flight, to a fresh server handshake.
    HandshakeTest.Session fresh = new HandshakeTest.Session(client(version), server(version));
    fresh.start();
    byte[] flight = Arrays.copyOf(clientInit, clientInit.length + clientFinished.length);
    System.arraycopy(clientFinished, 0, flight, clientInit.length, clientFinished.length);
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> fresh.deliver(fresh.server, flight, Integer.MAX_VALUE));
    // The fresh server's ServerInit (new ephemeral) is in the transcript the client signed over.
    assertEquals(expected(version, "client's handshake signature does not verify for "
        + clientId.id(), "ClientFinished"), e.getMessage());
  }

  @Test
  public void attackersEphemeralInClientInitFails() throws Exception {
    for (int version : VERSIONS) {
      attackersEphemeralInClientInitFails(version);
    }
  }

  private void attackersEphemeralInClientInitFails(int version) throws Exception {
    HandshakeTest.Session s = new HandshakeTest.Session(client(version), server(version));
    byte[] clientInit = s.start();
    byte[] swapped = swapEphemeral(clientInit, CLIENT_INIT_EPHEMERAL_AT);
    byte[] serverInit = s.deliver(s.server, swapped, Integer.MAX_VALUE);
    // The server signed the ClientInit it saw; the client's transcript has its own.
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> s.deliver(s.client, serverInit, Integer.MAX_VALUE));
    assertEquals(expected(version, "server's handshake signature does not verify for "
        + serverId.id(), "ServerInit"), e.getMessage());
  }

  @Test
  public void attackersEphemeralInServerInitFails() throws Exception {
    for (int version : VERSIONS) {
      attackersEphemeralInServerInitFails(version);
    }
  }

  private void attackersEphemeralInServerInitFails(int version) throws Exception {
    HandshakeTest.Session s = new HandshakeTest.Session(client(version), server(version));
    byte[] serverInit = s.deliver(s.server, s.start(), Integer.MAX_VALUE);
    byte[] swapped = swapEphemeral(serverInit, SERVER_INIT_EPHEMERAL_AT);
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> s.deliver(s.client, swapped, Integer.MAX_VALUE));
    assertEquals(expected(version, "server's handshake signature does not verify for "
        + serverId.id(), "ServerInit"), e.getMessage());
  }

  @Test
  public void serverProofsReflectedAsTheClientsFailWithTheSameIdentityOnBothSides()
      throws Exception {
    // Version 1 only: in version 2 the attacker cannot even produce a ClientFinished that opens.
    // Both sides hold one identity and accept it: the reflection's best case.
    HandshakeOptions shared = HandshakeTest.v1().identity(serverId)
        .acceptPeers(List.of(serverId.publicKey())).build();
    HandshakeTest.Session control = new HandshakeTest.Session(shared, shared);
    control.run(Integer.MAX_VALUE);

    HandshakeTest.Session s = new HandshakeTest.Session(shared, shared);
    byte[] serverInit = s.deliver(s.server, s.start(), Integer.MAX_VALUE);
    byte[] signature = Arrays.copyOfRange(serverInit, Messages.signatureOffset(serverInit),
        Messages.macOffset(serverInit));
    byte[] mac = Arrays.copyOfRange(serverInit, Messages.macOffset(serverInit),
        serverInit.length);
    // A ClientFinished naming the shared identity, carrying the server's own signature and MAC.
    byte[] reflected = new Messages.ClientFinished(Messages.Identity.of(serverId))
        .encodeUnsigned();
    System.arraycopy(signature, 0, reflected, Messages.signatureOffset(reflected),
        signature.length);
    System.arraycopy(mac, 0, reflected, Messages.macOffset(reflected), mac.length);
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> s.deliver(s.server, reflected, Integer.MAX_VALUE));
    assertEquals("client's handshake signature does not verify for " + serverId.id(),
        e.getMessage());

    // The signature alone right, the reflected MAC still fails (labels and transcripts differ).
    HandshakeTest.Session t = new HandshakeTest.Session(shared, shared);
    byte[] clientInit = t.start();
    byte[] serverInit2 = t.deliver(t.server, clientInit, Integer.MAX_VALUE);
    byte[] honest = t.deliver(t.client, serverInit2, Integer.MAX_VALUE);
    System.arraycopy(serverInit2, Messages.macOffset(serverInit2), honest,
        Messages.macOffset(honest), Messages.MAC_BYTES);
    e = assertThrows(HandshakeException.class,
        () -> t.deliver(t.server, honest, Integer.MAX_VALUE));
    assertEquals("client's finished MAC does not verify: the handshake was tampered with or the"
        + " key exchange failed", e.getMessage());
  }

  /** A copy of {@code message} with an attacker's fresh X25519 public key at {@code at}. */
  private static byte[] swapEphemeral(byte[] message, int at) throws Exception {
    KeyPair attacker = HandshakeCrypto.newEphemeral();
    byte[] raw = HandshakeCrypto.rawX25519(attacker.getPublic());
    byte[] out = message.clone();
    assertTrue(!Arrays.equals(raw, Arrays.copyOfRange(out, at, at + raw.length)));
    System.arraycopy(raw, 0, out, at, raw.length);
    return out;
  }
}
