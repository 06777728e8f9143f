package dev.grpclean.alts;

import static dev.grpclean.alts.EchoFixture.generate;
import static dev.grpclean.transport.testing.Echo.call;
import static dev.grpclean.transport.testing.RawFrames.concat;
import static dev.grpclean.transport.testing.RawFrames.frame;
import static dev.grpclean.transport.testing.RawFrames.preface;
import static dev.grpclean.transport.testing.RawFrames.settings;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.alts.record.AltsRecordProtector;
import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Bad input on a raw socket against a lean ALTS-like server: a client that completes a real
 * handshake and then sends tampered, replayed or oversized records, and clients that never
 * complete the handshake. Each must close only its own connection, with the reason in the
 * server's log, while a normal channel to the same server keeps working and every lease returns.
 */
public class AltsLikeBadInputTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);
  @Rule public final org.junit.rules.TestName testName = new org.junit.rules.TestName();

  /**
   * For the handshake-timeout cases: short, so they take two seconds, yet far above a normal
   * handshake (a few ms) even on a loaded CI machine. Every other case uses a generous timeout
   * so that load never turns it into a timeout case.
   */
  private static final long HANDSHAKE_TIMEOUT_MILLIS = 2_000;
  private static final long GENEROUS_HANDSHAKE_TIMEOUT_MILLIS = 30_000;
  /** HTTP/2's default SETTINGS_MAX_FRAME_SIZE (RFC 9113 §6.5.2). */
  private static final int MAX_FRAME_PAYLOAD_BYTES = 16_384;
  /** An extension frame type: RFC 9113 §5.5 says receivers ignore it. */
  private static final int TYPE_UNKNOWN = 0xfa;

  private final AltsLikeIdentity serverId = generate();
  private final AltsLikeIdentity clientId = generate();
  /** Strong references: a logger's level is lost if the logger is collected. */
  private final Logger[] serverLoggers = {
      Logger.getLogger("dev.grpclean.transport.Http2Connection"),
      Logger.getLogger("dev.grpclean.transport.LeanServerTransport")};
  private final Level[] savedLevels = new Level[serverLoggers.length];
  private final List<String> serverLog = new CopyOnWriteArrayList<>();
  private final Handler logCapture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      StringBuilder line = new StringBuilder(String.valueOf(record.getMessage()));
      for (Throwable t = record.getThrown(); t != null; t = t.getCause()) {
        line.append(" | ").append(t.getMessage());
      }
      serverLog.add(line.toString());
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };
  private Server server;
  private ManagedChannel channel;

  /**
   * One exchange on a server with the default handshake timeout, so the first handshake of the
   * JVM (class loading, Conscrypt's native library) does not run into the short one below.
   */
  @BeforeClass
  public static void warmUp() throws Exception {
    AltsLikeIdentity server = generate();
    AltsLikeIdentity client = generate();
    Server s = LeanServerBuilder.forPort(0, AltsLikeServerCredentials.newBuilder()
            .identity(server).acceptPeers(client.publicKey()).build())
        .addService(Echo.service())
        .build().start();
    ManagedChannel c = LeanChannelBuilder.forAddress("127.0.0.1", s.getPort(),
        AltsLikeChannelCredentials.newBuilder().identity(client).acceptPeers(server.publicKey())
            .build()).build();
    try {
      call(c, new byte[1]);
    } finally {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Before
  public void setUp() throws IOException {
    for (int i = 0; i < serverLoggers.length; i++) {
      savedLevels[i] = serverLoggers[i].getLevel();
      serverLoggers[i].setLevel(Level.FINE);
      serverLoggers[i].addHandler(logCapture);
    }
    logCapture.setLevel(Level.ALL);
    server = LeanServerBuilder.forPort(0, AltsLikeServerCredentials.newBuilder()
            .identity(serverId).acceptPeers(clientId.publicKey()).build())
        .handshakeTimeout(testName.getMethodName().contains("HandshakeTimeout")
            ? HANDSHAKE_TIMEOUT_MILLIS : GENEROUS_HANDSHAKE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
        .addService(Echo.service())
        .build().start();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(), clientCreds()).build();
    // Connected before the bad input arrives, so the check afterwards uses the same connection.
    assertEquals(1, call(channel, new byte[1]).length);
  }

  @After
  public void tearDown() throws Exception {
    try {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      LeanLeases.assertNoneLeased();
    } finally {
      for (int i = 0; i < serverLoggers.length; i++) {
        serverLoggers[i].removeHandler(logCapture);
        serverLoggers[i].setLevel(savedLevels[i]);
      }
    }
  }

  @Test
  public void validPrefaceAndSettingsGetTheServersSettingsAndAck() throws Exception {
    try (RawAltsLikeClient raw = handshakenClient()) {
      raw.send(raw.seal(concat(preface(), settings())));
      raw.awaitFrame(FrameType.SETTINGS, 0);
      // The ack shows the server opened our record and parsed the preface and SETTINGS in it.
      raw.awaitFrame(FrameType.SETTINGS, FrameType.ACK);
      byte[] ping = {1, 2, 3, 4, 5, 6, 7, 8};
      raw.send(raw.seal(frame(FrameType.PING, 0, 0, ping)));
      assertArrayEquals(ping, raw.awaitFrame(FrameType.PING, FrameType.ACK).payload());
    }
    assertOtherConnectionsUnaffected();
  }

  @Test
  public void recordOfExactlyTheSizeLimitIsAccepted() throws Exception {
    int limit = AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES;
    AltsLikeChannelCredentials bigRecords = AltsLikeChannelCredentials.newBuilder()
        .identity(clientId).acceptPeers(serverId.publicKey()).recordBytes(limit).build();
    try (RawAltsLikeClient raw = handshakenClientPastSettings(bigRecords)) {
      byte[] ping = {8, 7, 6, 5, 4, 3, 2, 1};
      byte[] record = raw.seal(padTo(limit - AltsRecordProtector.OVERHEAD_BYTES,
          frame(FrameType.PING, 0, 0, ping)));
      assertEquals("one record of exactly the limit", limit, record.length);
      assertEquals(limit - 4, leInt(record, 0));
      raw.send(record);
      assertArrayEquals(ping, raw.awaitFrame(FrameType.PING, FrameType.ACK).payload());
    }
    assertOtherConnectionsUnaffected();
  }

  @Test
  public void flippedCiphertextBitClosesTheConnection() throws Exception {
    try (RawAltsLikeClient raw = handshakenClientPastSettings(clientCreds())) {
      byte[] record = raw.seal(frame(FrameType.PING, 0, 0, new byte[8]));
      assertEquals("one record", AltsRecordProtector.OVERHEAD_BYTES + 17, record.length);
      record[8 + 5] ^= 0x10; // a ciphertext byte, past the length and type fields
      raw.send(record);
      raw.awaitClose();
    }
    assertServerLogged("failed authentication");
    assertOtherConnectionsUnaffected();
  }

  @Test
  public void replayedRecordClosesTheConnection() throws Exception {
    try (RawAltsLikeClient raw = handshakenClient()) {
      byte[] first = raw.seal(concat(preface(), settings()));
      raw.send(first);
      raw.awaitFrame(FrameType.SETTINGS, FrameType.ACK);
      raw.send(first);
      raw.awaitClose();
    }
    assertServerLogged("ALTS record 1 failed authentication");
    assertOtherConnectionsUnaffected();
  }

  @Test
  public void recordOverTheSizeLimitClosesTheConnectionOnItsLengthField() throws Exception {
    try (RawAltsLikeClient raw = handshakenClientPastSettings(clientCreds())) {
      // Only the header: the length field alone must end it, before any body is buffered.
      int wholeRecordBytes = AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES + 1;
      raw.send(leInts(wholeRecordBytes - 4, AltsRecordProtector.RECORD_TYPE));
      raw.awaitClose();
    }
    assertServerLogged("ALTS record of 1048577 bytes exceeds the limit of 1048576 bytes");
    assertOtherConnectionsUnaffected();
  }

  @Test
  public void garbageInsteadOfTheHandshakeClosesTheConnection() throws Exception {
    byte[] garbage = new byte[300];
    new Random(7).nextBytes(garbage);
    garbage[3] = (byte) 0xa5; // a length field far over the 1 KiB message limit
    try (RawAltsLikeClient raw = RawAltsLikeClient.connect(server.getPort(), clientCreds())) {
      raw.send(garbage);
      assertEquals("bytes before the close", 0, raw.awaitClose());
    }
    assertServerLogged("exceeds the limit of 1024 bytes");
    assertOtherConnectionsUnaffected();
  }

  @Test
  public void clientInitWithAGarbageBodyClosesTheConnection() throws Exception {
    try (RawAltsLikeClient raw = RawAltsLikeClient.connect(server.getPort(), clientCreds())) {
      byte[] init = raw.clientInit();
      byte[] body = new byte[init.length - 8];
      new Random(8).nextBytes(body);
      System.arraycopy(body, 0, init, 8, body.length); // length and type stay valid
      raw.send(init);
      assertEquals("bytes before the close", 0, raw.awaitClose());
    }
    assertServerLogged("bad magic");
    assertOtherConnectionsUnaffected();
  }

  @Test
  public void truncatedClientInitThenEndOfInputClosesTheConnection() throws Exception {
    try (RawAltsLikeClient raw = RawAltsLikeClient.connect(server.getPort(), clientCreds())) {
      byte[] init = raw.clientInit();
      raw.send(Arrays.copyOf(init, init.length / 2));
      raw.shutdownOutput();
      assertEquals("bytes before the close", 0, raw.awaitClose());
    }
    assertOtherConnectionsUnaffected();
  }

  @Test
  public void truncatedClientInitIsClosedAtTheHandshakeTimeout() throws Exception {
    long start = System.nanoTime();
    try (RawAltsLikeClient raw = RawAltsLikeClient.connect(server.getPort(), clientCreds())) {
      byte[] init = raw.clientInit();
      raw.send(Arrays.copyOf(init, init.length / 2));
      raw.awaitClose();
    }
    long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    // The timer starts after our connect, so a close caused by it cannot come sooner.
    assertTrue("closed after " + elapsedMillis + " ms",
        elapsedMillis >= HANDSHAKE_TIMEOUT_MILLIS);
    assertServerLogged("handshake timeout");
    assertOtherConnectionsUnaffected();
  }

  @Test
  public void atTheHandshakeTimeoutNothingIsWrittenIntoTheHandshake() throws Exception {
    try (RawAltsLikeClient raw = RawAltsLikeClient.connect(server.getPort(), clientCreds())) {
      byte[] init = raw.clientInit();
      raw.send(Arrays.copyOf(init, init.length / 2));
      // README §2: no alert exists, a failed handshake is a bare close (no HTTP/2 GOAWAY):
      // GOAWAY(PROTOCOL_ERROR, "handshake timeout") in plaintext.
      assertEquals("bytes before the close", 0, raw.awaitClose());
    }
    assertOtherConnectionsUnaffected();
  }

  @Test
  public void peerResetBeforeTheServersFirstRecordLeaksNothing() throws Exception {
    CountDownLatch verifying = new CountDownLatch(1);
    CountDownLatch wasReset = new CountDownLatch(1);
    // Holds the server's loop thread inside the handshake until the client has reset, so the
    // server's first sealed write (its SETTINGS) deterministically meets a reset socket.
    Server resetServer = LeanServerBuilder.forPort(0, AltsLikeServerCredentials.newBuilder()
            .identity(serverId)
            .peerVerifier(peer -> {
              verifying.countDown();
              try {
                return wasReset.await(10, TimeUnit.SECONDS) && peer.id().equals(clientId.id());
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
              }
            })
            .build())
        .addService(Echo.service())
        .build().start();
    try {
      RawAltsLikeClient raw = RawAltsLikeClient.connect(resetServer.getPort(), clientCreds());
      try {
        raw.handshake();
        assertTrue("server verifying the client", verifying.await(10, TimeUnit.SECONDS));
      } finally {
        raw.reset();
        wasReset.countDown();
      }
      LeanLeases.assertNoneLeased();
    } finally {
      resetServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    assertOtherConnectionsUnaffected();
  }

  private AltsLikeChannelCredentials clientCreds() {
    return AltsLikeChannelCredentials.newBuilder()
        .identity(clientId).acceptPeers(serverId.publicKey()).build();
  }

  private RawAltsLikeClient handshakenClient() throws Exception {
    RawAltsLikeClient raw = RawAltsLikeClient.connect(server.getPort(), clientCreds());
    raw.handshake();
    return raw;
  }

  /**
   * A raw client whose preface and SETTINGS the server has acknowledged, so its handshake
   * timeout no longer applies.
   */
  private RawAltsLikeClient handshakenClientPastSettings(AltsLikeChannelCredentials creds)
      throws Exception {
    RawAltsLikeClient raw = RawAltsLikeClient.connect(server.getPort(), creds);
    raw.handshake();
    raw.send(raw.seal(concat(preface(), settings())));
    raw.awaitFrame(FrameType.SETTINGS, FrameType.ACK);
    return raw;
  }

  private void assertOtherConnectionsUnaffected() {
    assertEquals(5, call(channel, new byte[5]).length);
    LeanLeases.assertNoneLeased();
  }

  /** The server logs the reason before it closes, so it is there once the close is seen. */
  private void assertServerLogged(String reason) {
    assertTrue("server log " + serverLog + " lacks \"" + reason + "\"",
        serverLog.stream().anyMatch(line -> line.contains(reason)));
  }

  /** {@code prefix} followed by unknown-type frames that fill it to exactly {@code bytes}. */
  private static byte[] padTo(int bytes, byte[] prefix) {
    byte[] out = Arrays.copyOf(prefix, bytes);
    int at = prefix.length;
    while (at < bytes) {
      int payload = Math.min(MAX_FRAME_PAYLOAD_BYTES,
          bytes - at - FrameType.FRAME_HEADER_BYTES);
      if (payload < 0) {
        throw new IllegalArgumentException("cannot pad " + prefix.length + " to " + bytes);
      }
      byte[] f = frame(TYPE_UNKNOWN, 0, 0, new byte[payload]);
      System.arraycopy(f, 0, out, at, f.length);
      at += f.length;
    }
    return out;
  }

  private static byte[] leInts(int... values) {
    byte[] out = new byte[4 * values.length];
    for (int i = 0; i < values.length; i++) {
      for (int b = 0; b < 4; b++) {
        out[4 * i + b] = (byte) (values[i] >>> (8 * b));
      }
    }
    return out;
  }

  private static int leInt(byte[] bytes, int at) {
    return (bytes[at] & 0xff) | (bytes[at + 1] & 0xff) << 8 | (bytes[at + 2] & 0xff) << 16
        | (bytes[at + 3] & 0xff) << 24;
  }
}
