package dev.grpclean.alts.handshake;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.AltsLikePeer;
import dev.grpclean.alts.RpcProtocolVersion;
import dev.grpclean.alts.record.AltsRecordProtector;
import dev.grpclean.alts.record.RecordProtocol;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.RecordProtector;
import io.grpc.Attributes;
import io.grpc.SecurityLevel;
import io.grpc.internal.GrpcAttributes;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** Client and server handshakers against each other in memory, and against a tampering wire. */
public class HandshakeTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static AltsLikeIdentity clientId;
  private static AltsLikeIdentity serverId;
  private static AltsLikeIdentity strangerId;

  @BeforeClass
  public static void identities() throws Exception {
    clientId = AltsLikeIdentity.generate();
    serverId = AltsLikeIdentity.generate();
    strangerId = AltsLikeIdentity.generate();
  }

  @Test
  public void handshakesWholeAndExchangesRecordsBothWays() throws Exception {
    checkHandshakeAndRecords(Integer.MAX_VALUE);
  }

  @Test
  public void handshakesWithBytesDeliveredOneAtATime() throws Exception {
    checkHandshakeAndRecords(1);
  }

  @Test
  public void handshakesWithOddSizedChunks() throws Exception {
    checkHandshakeAndRecords(7);
  }

  @Test
  public void attributesCarrySecurityLevelAndPeerIdentity() throws Exception {
    Session s = new Session(clientOptions().build(), serverOptions().build());
    s.run(Integer.MAX_VALUE);
    Attributes serverSees = s.server.attributes();
    assertEquals(SecurityLevel.PRIVACY_AND_INTEGRITY,
        serverSees.get(GrpcAttributes.ATTR_SECURITY_LEVEL));
    AltsLikePeer client = serverSees.get(AltsLikePeer.PEER_IDENTITY_KEY);
    assertEquals(clientId.id(), client.id());
    assertArrayEquals(clientId.rawPublicKey(), client.rawPublicKey());
    assertEquals(RecordProtocol.AES_128_GCM_REKEY, client.recordProtocol());
    assertEquals(RpcProtocolVersion.DEFAULT, client.rpcProtocolVersion());
    AltsLikePeer server = s.client.attributes().get(AltsLikePeer.PEER_IDENTITY_KEY);
    assertEquals(serverId.id(), server.id());
    assertEquals(SecurityLevel.PRIVACY_AND_INTEGRITY,
        s.client.attributes().get(GrpcAttributes.ATTR_SECURITY_LEVEL));
    assertEquals(0, s.client.pendingBytes());
    assertEquals(0, s.server.pendingBytes());
  }

  @Test
  public void negotiatesTheClientsPreferredProtocolAndHighestCommonRpcVersion() throws Exception {
    Session s = new Session(
        clientOptions()
            .recordProtocols(RecordProtocol.AES_128_GCM, RecordProtocol.AES_128_GCM_REKEY)
            .rpcProtocolVersions(RpcProtocolVersion.of(2, 0), RpcProtocolVersion.of(2, 5))
            .build(),
        serverOptions()
            .recordProtocols(RecordProtocol.AES_128_GCM_REKEY, RecordProtocol.AES_128_GCM)
            .rpcProtocolVersions(RpcProtocolVersion.of(2, 1), RpcProtocolVersion.of(3, 0))
            .build());
    s.run(Integer.MAX_VALUE);
    AltsLikePeer server = s.client.attributes().get(AltsLikePeer.PEER_IDENTITY_KEY);
    assertEquals(RecordProtocol.AES_128_GCM, server.recordProtocol());
    assertEquals(RpcProtocolVersion.of(2, 5), server.rpcProtocolVersion());
    assertEquals(RecordProtocol.AES_128_GCM,
        ((AltsRecordProtector) s.server.protector()).protocol());
    checkRecords(s);
  }

  @Test
  public void channelzSecurityNamesTheProtocolAndBothIdentities() throws Exception {
    Session s = new Session(clientOptions().build(), serverOptions().build());
    assertNull(s.client.security());
    s.run(Integer.MAX_VALUE);
    assertNull(s.client.security().tls);
    assertEquals("alts-like AES_128_GCM_REKEY rpc 2.1 local " + clientId.id() + " remote "
        + serverId.id(), s.client.security().other.name);
    assertEquals("alts-like AES_128_GCM_REKEY rpc 2.1 local " + serverId.id() + " remote "
        + clientId.id(), s.server.security().other.name);
    assertNull(s.server.security().other.any);
  }

  @Test
  public void recordSizeIsCappedByWhatThePeerAccepts() throws Exception {
    Session s = new Session(clientOptions().recordBytes(16 << 10).build(),
        serverOptions().recordBytes(4096).maxInboundRecordBytes(8 << 10).build());
    s.run(Integer.MAX_VALUE);
    assertEquals((8 << 10) - 24, ((AltsRecordProtector) s.client.protector()).maxPayloadBytes());
    assertEquals(4096 - 24, ((AltsRecordProtector) s.server.protector()).maxPayloadBytes());
    checkRecords(s);
  }

  @Test
  public void defaultsSendSixteenKibRecordsBothWays() throws Exception {
    Session s = new Session(clientOptions().build(), serverOptions().build());
    s.run(Integer.MAX_VALUE);
    assertEquals(16 << 10, AltsRecordProtector.DEFAULT_RECORD_BYTES);
    assertEquals((16 << 10) - 24, ((AltsRecordProtector) s.client.protector()).maxPayloadBytes());
    assertEquals((16 << 10) - 24, ((AltsRecordProtector) s.server.protector()).maxPayloadBytes());
    checkRecords(s);
    assertEquals(16 << 10, firstRecordBytes(s.client.protector(), 70_000));
    assertEquals(16 << 10, firstRecordBytes(s.server.protector(), 70_000));
  }

  /**
   * A peer on ALTS's usual 4 KiB records (this module's default before 16 KiB, grpc-java's and
   * grpc-go's ALTS) still talks with today's defaults both ways: it keeps sending 4 KiB records
   * and takes our 16 KiB ones (it announces 1 MiB); one that announces only 4 KiB gets 4 KiB.
   */
  @Test
  public void fourKibPeersInteroperateWithTheSixteenKibDefault() throws Exception {
    Session old = new Session(clientOptions().recordBytes(4096).build(),
        serverOptions().build());
    old.run(Integer.MAX_VALUE);
    checkRecords(old);
    assertEquals(4096, firstRecordBytes(old.client.protector(), 70_000));
    assertEquals(16 << 10, firstRecordBytes(old.server.protector(), 70_000));

    Session strict = new Session(clientOptions().build(),
        serverOptions().recordBytes(4096).maxInboundRecordBytes(4096).build());
    strict.run(Integer.MAX_VALUE);
    checkRecords(strict);
    assertEquals(4096, firstRecordBytes(strict.client.protector(), 70_000));
    assertEquals(4096, firstRecordBytes(strict.server.protector(), 70_000));
  }

  /**
   * Seals {@code size} bytes and returns the first record's whole size from its length field.
   * The sealed records are never opened, so no records can be exchanged after this.
   */
  private static int firstRecordBytes(RecordProtector from, int size) throws Exception {
    ByteBuffer sealed = ByteBuffer.allocate(from.maxProtectedBytes(size));
    from.protect(ByteBuffer.wrap(new byte[size]), sealed);
    return sealed.order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(0) + 4;
  }

  @Test
  public void bytesAfterClientFinishedStayInTheBuffer() throws Exception {
    Session s = new Session(clientOptions().build(), serverOptions().build());
    byte[] clientInit = s.start();
    byte[] serverInit = s.deliver(s.server, clientInit, Integer.MAX_VALUE);
    byte[] clientFinished = s.deliver(s.client, serverInit, Integer.MAX_VALUE);
    assertTrue(s.clientDone);
    byte[] preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    ByteBuffer sealed = ByteBuffer.allocateDirect(s.client.protector().maxProtectedBytes(
        preface.length));
    s.client.protector().protect(ByteBuffer.wrap(preface), sealed);
    sealed.flip();
    ByteBuffer flight = ByteBuffer.allocateDirect(clientFinished.length + sealed.remaining());
    flight.put(clientFinished).put(sealed).flip();
    ByteBuffer out = ByteBuffer.allocate(s.server.maxOutputBytes());
    assertTrue(s.server.onBytes(flight, out));
    assertEquals(0, out.position());
    assertEquals("position stops at the first protected byte", clientFinished.length,
        flight.position());
    ByteArrayOutputStream plaintext = new ByteArrayOutputStream();
    s.server.protector().unprotect(flight, p -> {
      byte[] b = new byte[p.remaining()];
      p.get(b);
      plaintext.write(b, 0, b.length);
    });
    assertArrayEquals(preface, plaintext.toByteArray());
    assertTrue("done stays done", s.server.onBytes(ByteBuffer.allocate(0), out));
  }

  // --- failures ---

  @Test
  public void clientRejectsServerIdentityOutsideItsPolicy() throws Exception {
    Session s = new Session(
        v1().identity(clientId).acceptPeers(List.of(
            strangerId.publicKey())).build(),
        serverOptions().build());
    HandshakeException e = assertThrows(HandshakeException.class, () -> s.run(Integer.MAX_VALUE));
    assertEquals("server identity " + serverId.id() + " for localhost:443 is not accepted by local"
        + " policy (the"
        + " accepted identity " + strangerId.id() + ")", e.getMessage());
  }

  @Test
  public void serverRejectsClientIdentityOutsideItsPolicy() throws Exception {
    Session s = new Session(clientOptions().build(),
        v1().identity(serverId)
            .peerVerifier(peer -> peer.id().equals(strangerId.id())).build());
    HandshakeException e = assertThrows(HandshakeException.class, () -> s.run(Integer.MAX_VALUE));
    assertEquals("client identity " + clientId.id() + " is not accepted by local policy (the"
        + " peer verifier)", e.getMessage());
    assertTrue(s.clientDone);
  }

  @Test
  public void tamperedServerSignatureFails() throws Exception {
    HandshakeException e = failWithServerInit(si -> flip(si, Messages.signatureOffset(si) + 5));
    assertTrue(e.getMessage(), e.getMessage().startsWith("server's handshake signature does not"
        + " verify"));
  }

  @Test
  public void tamperedServerMacFails() throws Exception {
    HandshakeException e = failWithServerInit(si -> flip(si, Messages.macOffset(si)));
    assertTrue(e.getMessage(), e.getMessage().startsWith("server's finished MAC does not verify"));
  }

  @Test
  public void tamperedServerChoiceFails() throws Exception {
    // The record size field, covered by the signature.
    HandshakeException e = failWithServerInit(si -> flip(si, 8 + 2 + 32 + 1 + 2));
    assertTrue(e.getMessage(), e.getMessage().contains("signature does not verify"));
  }

  @Test
  public void tamperedClientInitFailsAtTheClient() throws Exception {
    RecordProtocol[] both = {RecordProtocol.AES_128_GCM_REKEY, RecordProtocol.AES_128_GCM};
    Session s = new Session(clientOptions().recordProtocols(both).build(),
        serverOptions().recordProtocols(both).build());
    byte[] clientInit = s.start();
    // Downgrade attempt: strip the client's first-choice protocol.
    clientInit[clientInit.length - 2] = (byte) RecordProtocol.AES_128_GCM.wireId();
    byte[] serverInit = s.deliver(s.server, clientInit, Integer.MAX_VALUE);
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> s.deliver(s.client, serverInit, Integer.MAX_VALUE));
    assertTrue(e.getMessage(), e.getMessage().contains("signature does not verify"));
  }

  @Test
  public void tamperedClientSignatureFails() throws Exception {
    HandshakeException e =
        failWithClientFinished(cf -> flip(cf, Messages.signatureOffset(cf) + 1));
    assertTrue(e.getMessage(), e.getMessage().startsWith("client's handshake signature does not"
        + " verify"));
  }

  @Test
  public void substitutedClientIdentityFailsOnTheFinishedMac() throws Exception {
    // A stranger re-signs the honest client's transcript as itself, but cannot know the MAC key.
    Session s = new Session(clientOptions().build(), serverOptions().build());
    byte[] clientInit = s.start();
    byte[] serverInit = s.deliver(s.server, clientInit, Integer.MAX_VALUE);
    byte[] finished = s.deliver(s.client, serverInit, Integer.MAX_VALUE);
    byte[] forged = finished.clone();
    System.arraycopy(strangerId.rawPublicKey(), 0, forged, Messages.HEADER_BYTES + 1, 32);
    int sigAt = Messages.signatureOffset(forged);
    byte[] transcript = HandshakeCrypto.transcriptHash(
        new byte[][] {clientInit, serverInit, forged},
        new int[] {clientInit.length, serverInit.length, sigAt});
    byte[] signature = HandshakeCrypto.sign(strangerId.privateKey(), "Ed25519",
        HandshakeCrypto.CLIENT_SIGNATURE_CONTEXT, transcript);
    System.arraycopy(signature, 0, forged, sigAt, signature.length);
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> s.deliver(s.server, forged, Integer.MAX_VALUE));
    assertEquals("client's finished MAC does not verify: the handshake was tampered with or the"
        + " key exchange failed", e.getMessage());
  }

  @Test
  public void truncatedClientInitFails() throws Exception {
    byte[] clientInit = new Session(clientOptions().build(), serverOptions().build()).start();
    byte[] truncated = Arrays.copyOf(clientInit, clientInit.length - 1);
    putIntLe(truncated, 0, truncated.length - 4);
    assertEquals("ClientInit is truncated", serverFails(truncated).getMessage());
  }

  @Test
  public void trailingBytesInServerInitFail() throws Exception {
    HandshakeException e = failWithServerInit(si -> {
      byte[] longer = Arrays.copyOf(si, si.length + 1);
      putIntLe(longer, 0, longer.length - 4);
      return longer;
    });
    assertEquals("ServerInit has unexpected trailing bytes", e.getMessage());
  }

  @Test
  public void truncatedServerInitFails() throws Exception {
    HandshakeException e = failWithServerInit(si -> {
      byte[] shorter = Arrays.copyOf(si, si.length - 1);
      putIntLe(shorter, 0, shorter.length - 4);
      return shorter;
    });
    assertEquals("ServerInit is truncated", e.getMessage());
  }

  @Test
  public void oversizedMessageFailsFromItsLengthField() throws Exception {
    byte[] header = new byte[4];
    putIntLe(header, 0, 2000);
    assertEquals("handshake message of 2004 bytes exceeds the limit of 1024 bytes",
        serverFails(header).getMessage());
  }

  @Test
  public void garbageFails() throws Exception {
    assertTrue(serverFails("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII))
        .getMessage().contains("exceeds the limit"));
    assertTrue(serverFails("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII))
        .getMessage().contains("HTTP/2 preface"));
    assertTrue(serverFails(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01})
        .getMessage().contains("TLS record"));
    byte[] badMagic = new byte[100];
    putIntLe(badMagic, 0, 96);
    putIntLe(badMagic, 4, Messages.CLIENT_INIT);
    assertEquals("not an ALTS-like handshake: bad magic in ClientInit",
        serverFails(badMagic).getMessage());
    byte[] tooShort = new byte[] {2, 0, 0, 0};
    assertEquals("handshake message length 2 is too short", serverFails(tooShort).getMessage());
  }

  @Test
  public void unexpectedMessageTypeFails() throws Exception {
    byte[] finishedFirst = new byte[Messages.CLIENT_FINISHED_BYTES];
    putIntLe(finishedFirst, 0, finishedFirst.length - 4);
    putIntLe(finishedFirst, 4, Messages.CLIENT_FINISHED);
    assertEquals("unexpected handshake message type 3 while waiting for ClientInit",
        serverFails(finishedFirst).getMessage());
  }

  @Test
  public void unknownHandshakeVersionFails() throws Exception {
    byte[] ephemeral = HandshakeCrypto.rawX25519(HandshakeCrypto.newEphemeral().getPublic());
    byte[] clientInit = new Messages.ClientInit(3, 4, ephemeral, 1 << 20,
        RpcProtocolVersion.DEFAULT, RpcProtocolVersion.DEFAULT, List.of(1)).encode();
    assertEquals("no common handshake version: the client offers [3, 4], the server speaks"
        + " [1, 1]", serverFails(clientInit).getMessage());
  }

  @Test
  public void serverChoosingAnUnofferedVersionFails() throws Exception {
    HandshakeException e = failWithServerInit(si -> {
      si[Messages.HEADER_BYTES] = 9;
      return si;
    });
    assertEquals("server chose handshake version 9; the client offered [1, 1]", e.getMessage());
  }

  @Test
  public void rpcVersionMismatchFails() throws Exception {
    Session s = new Session(
        clientOptions().rpcProtocolVersions(RpcProtocolVersion.of(3, 0),
            RpcProtocolVersion.of(3, 0)).build(),
        serverOptions().build());
    HandshakeException e = assertThrows(HandshakeException.class, () -> s.run(Integer.MAX_VALUE));
    assertEquals("no common RPC protocol version: the client offers [3.0, 3.0], the server [2.1,"
        + " 2.1]", e.getMessage());
  }

  @Test
  public void defaultsOfferAndAllowOnlyTheRekeyingProtocol() throws Exception {
    assertEquals(List.of(RecordProtocol.AES_128_GCM_REKEY),
        clientOptions().build().recordProtocols());
    Session s = new Session(clientOptions().build(), serverOptions().build());
    byte[] clientInit = s.start();
    assertEquals(1, clientInit[clientInit.length - 2]);
    assertEquals(RecordProtocol.AES_128_GCM_REKEY.wireId(), clientInit[clientInit.length - 1]);
    // A peer offering only the non-rekeying protocol is refused by default.
    Session old = new Session(clientOptions().recordProtocols(RecordProtocol.AES_128_GCM).build(),
        serverOptions().build());
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> old.run(Integer.MAX_VALUE));
    assertEquals("no common record protocol: the client offers [2], the server allows"
        + " [AES_128_GCM_REKEY(1)]", e.getMessage());
  }

  @Test
  public void recordProtocolMismatchFails() throws Exception {
    Session s = new Session(clientOptions().recordProtocols(RecordProtocol.AES_128_GCM).build(),
        serverOptions().recordProtocols(RecordProtocol.AES_128_GCM_REKEY).build());
    HandshakeException e = assertThrows(HandshakeException.class, () -> s.run(Integer.MAX_VALUE));
    assertEquals("no common record protocol: the client offers [2], the server allows"
        + " [AES_128_GCM_REKEY(1)]", e.getMessage());
  }

  @Test
  public void peerRecordLimitBelowFourKibFails() throws Exception {
    byte[] ephemeral = HandshakeCrypto.rawX25519(HandshakeCrypto.newEphemeral().getPublic());
    byte[] clientInit = new Messages.ClientInit(1, 1, ephemeral, 1000,
        RpcProtocolVersion.DEFAULT, RpcProtocolVersion.DEFAULT, List.of(1)).encode();
    assertEquals("client accepts records of at most 1000 bytes; at least 4096 are required",
        serverFails(clientInit).getMessage());
  }

  @Test
  public void smallOrderEphemeralKeyFails() throws Exception {
    byte[] clientInit = new Messages.ClientInit(1, 1, new byte[32], 1 << 20,
        RpcProtocolVersion.DEFAULT, RpcProtocolVersion.DEFAULT, List.of(1)).encode();
    assertTrue(serverFails(clientInit).getMessage().contains("X25519 ephemeral key"));
  }

  @Test
  public void failedHandshakerRefusesMoreBytesAndClosesIdempotently() throws Exception {
    Handshaker server = new ServerHandshaker(serverOptions().build(), new HandshakeLimiter(1));
    server.start(ByteBuffer.allocate(server.maxOutputBytes()));
    ByteBuffer out = ByteBuffer.allocate(server.maxOutputBytes());
    assertThrows(HandshakeException.class,
        () -> server.onBytes(ByteBuffer.wrap(new byte[] {1, 0, 0, 0}), out));
    assertThrows(IllegalStateException.class,
        () -> server.onBytes(ByteBuffer.wrap(new byte[4]), out));
    assertThrows(IllegalStateException.class, server::protector);
    server.close();
    server.close();
  }

  @Test
  public void factoryMakesTheRequestedSide() {
    Handshaker c = new AltsLikeHandshakerFactory(clientOptions().build(), true)
        .newHandshaker("host:443", new InetSocketAddress(0));
    Handshaker s = new AltsLikeHandshakerFactory(serverOptions().build(), false)
        .newHandshaker(null, new InetSocketAddress(0));
    assertTrue(c instanceof ClientHandshaker);
    assertTrue(s instanceof ServerHandshaker);
  }

  // --- helpers ---

  private void checkHandshakeAndRecords(int chunk) throws Exception {
    Session s = new Session(clientOptions().build(), serverOptions().build());
    s.run(chunk);
    checkRecords(s);
  }

  static void checkRecords(Session s) throws Exception {
    RecordProtector client = s.client.protector();
    RecordProtector server = s.server.protector();
    assertNotNull(client);
    for (int size : new int[] {1, 5000, 70_000}) {
      byte[] message = new byte[size];
      Arrays.fill(message, (byte) size);
      assertArrayEquals(message, roundTrip(client, server, message));
      assertArrayEquals(message, roundTrip(server, client, message));
    }
  }

  private static byte[] roundTrip(RecordProtector from, RecordProtector to, byte[] message)
      throws Exception {
    ByteBuffer sealed = ByteBuffer.allocateDirect(from.maxProtectedBytes(message.length));
    from.protect(ByteBuffer.wrap(message), sealed);
    sealed.flip();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    to.unprotect(sealed, p -> {
      byte[] b = new byte[p.remaining()];
      p.get(b);
      out.write(b, 0, b.length);
    });
    return out.toByteArray();
  }

  private HandshakeException failWithServerInit(UnaryOperator<byte[]> tamper) throws Exception {
    Session s = new Session(clientOptions().build(), serverOptions().build());
    byte[] serverInit = s.deliver(s.server, s.start(), Integer.MAX_VALUE);
    byte[] tampered = tamper.apply(serverInit.clone());
    return assertThrows(HandshakeException.class,
        () -> s.deliver(s.client, tampered, Integer.MAX_VALUE));
  }

  private HandshakeException failWithClientFinished(UnaryOperator<byte[]> tamper)
      throws Exception {
    Session s = new Session(clientOptions().build(), serverOptions().build());
    byte[] serverInit = s.deliver(s.server, s.start(), Integer.MAX_VALUE);
    byte[] finished = s.deliver(s.client, serverInit, Integer.MAX_VALUE);
    byte[] tampered = tamper.apply(finished.clone());
    return assertThrows(HandshakeException.class,
        () -> s.deliver(s.server, tampered, Integer.MAX_VALUE));
  }

  private HandshakeException serverFails(byte[] bytes) throws Exception {
    Session s = new Session(clientOptions().build(), serverOptions().build());
    s.start();
    return assertThrows(HandshakeException.class,
        () -> s.deliver(s.server, bytes, Integer.MAX_VALUE));
  }

  private static byte[] flip(byte[] b, int index) {
    b[index] ^= 0x01;
    return b;
  }

  private static void putIntLe(byte[] b, int at, int v) {
    b[at] = (byte) v;
    b[at + 1] = (byte) (v >>> 8);
    b[at + 2] = (byte) (v >>> 16);
    b[at + 3] = (byte) (v >>> 24);
  }

  private static HandshakeOptions.Builder clientOptions() {
    return v1().identity(clientId).acceptPeers(List.of(
        serverId.publicKey()));
  }

  private static HandshakeOptions.Builder serverOptions() {
    return v1().identity(serverId).acceptPeers(List.of(
        clientId.publicKey()));
  }

  /** A client and a server handshaker and the bytes between them. */
  /**
   * Options pinned to handshake version 1, whose messages are in clear: the tests here tamper
   * with fields at their offsets; HandshakeV2Test covers version 2 (the default).
   */
  static HandshakeOptions.Builder v1() {
    return HandshakeOptions.newBuilder().handshakeVersions(1, 1);
  }

  static final class Session {
    final Handshaker client;
    final Handshaker server;
    boolean clientDone;
    boolean serverDone;

    Session(HandshakeOptions clientOptions, HandshakeOptions serverOptions) {
      this(clientOptions, serverOptions, "localhost:443");
    }

    /** With the client connecting to {@code authority}, which server certificates must name. */
    Session(HandshakeOptions clientOptions, HandshakeOptions serverOptions, String authority) {
      client = new AltsLikeHandshakerFactory(clientOptions, true).newHandshaker(authority, null);
      server = new AltsLikeHandshakerFactory(serverOptions, false).newHandshaker(null, null);
    }

    /** Starts both sides; returns the client's first flight. */
    byte[] start() throws Exception {
      ByteBuffer out = ByteBuffer.allocate(client.maxOutputBytes());
      client.start(out);
      ByteBuffer serverOut = ByteBuffer.allocate(server.maxOutputBytes());
      server.start(serverOut);
      assertEquals(0, serverOut.position());
      return Arrays.copyOf(out.array(), out.position());
    }

    void run(int chunk) throws Exception {
      byte[] serverInit = deliver(server, start(), chunk);
      byte[] clientFinished = deliver(client, serverInit, chunk);
      assertTrue(clientDone);
      assertEquals(0, deliver(server, clientFinished, chunk).length);
      assertTrue(serverDone);
    }

    /** Feeds {@code bytes} in chunks through direct buffers; returns what the side wrote. */
    byte[] deliver(Handshaker side, byte[] bytes, int chunk) throws Exception {
      ByteArrayOutputStream written = new ByteArrayOutputStream();
      boolean done = false;
      for (int at = 0; at < bytes.length; ) {
        int n = Math.min(chunk, bytes.length - at);
        ByteBuffer in = ByteBuffer.allocateDirect(n);
        in.put(bytes, at, n).flip();
        ByteBuffer out = ByteBuffer.allocateDirect(side.maxOutputBytes());
        done = side.onBytes(in, out);
        assertFalse("consumed past the handshake", in.hasRemaining() && !done);
        assertEquals("nothing follows the handshake here", 0, in.remaining());
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        written.write(b, 0, b.length);
        at += n;
        if (!done && at < bytes.length) {
          assertTrue(side.pendingBytes() > 0);
        }
      }
      if (side == client) {
        clientDone = done;
      } else {
        serverDone = done;
      }
      return written.toByteArray();
    }
  }
}
