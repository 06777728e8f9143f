package dev.grpclean.alts.record;

import static dev.grpclean.transport.testing.FuzzInput.encode;

import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.X509Fixtures;
import dev.grpclean.alts.handshake.AltsLikeHandshakerFactory;
import dev.grpclean.alts.handshake.HandshakeOptions;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.testing.RawFrames;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;

/**
 * Writes the committed seeds of this module's fuzz targets ({@code AltsRecordProtectorFuzzTest}
 * and {@code dev.grpclean.alts.handshake.HandshakeMessagesFuzzTest}) under a test resources root,
 * in the input layout each target documents. Crash reproducers found later are committed by hand
 * next to these; this only rewrites the named seeds. Run from the repository root (the first
 * command puts this tree's transport in ~/.m2, where the second looks for it):
 *
 * <pre>
 * mvn -o -q install -DskipTests -pl grpc-lean-transport -am
 * mvn -o -q -pl alts-like-handshaker test-compile exec:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=dev.grpclean.alts.record.FuzzCorpus \
 *   -Dexec.args=alts-like-handshaker/src/test/resources
 * </pre>
 *
 * <p>The records are sealed with the fuzz target's fixed keys, so they open; the handshake
 * messages come from real handshakes with fresh ephemeral keys, so regenerating changes their
 * bytes, not what they exercise.
 *
 * <p>Not thread-safe; a main.
 */
public final class FuzzCorpus {
  /** HandshakeMessagesFuzzTest's byte 0: mode in bits 0-1, message kind in bits 2-3. */
  private static final int DECODE_CLIENT_INIT = 0;
  private static final int SERVER_HANDSHAKER = 1;
  private static final int CLIENT_HANDSHAKER = 2;
  private static final int DECODE_SERVER_INIT = 1 << 2;
  private static final int DECODE_CLIENT_FINISHED = 2 << 2;
  /** Indexes into AltsRecordProtectorFuzzTest.MAX_INBOUND_RECORD_BYTES. */
  private static final int LIMIT_4_KIB = 2;
  private static final int LIMIT_1_MIB = 4;

  private FuzzCorpus() {}

  public static void main(String[] args) throws Exception {
    Path root = Paths.get(args.length > 0 ? args[0] : "src/test/resources");
    Path records = root.resolve(
        "dev/grpclean/alts/record/AltsRecordProtectorFuzzTestInputs/unprotect");
    Path handshake = root.resolve(
        "dev/grpclean/alts/handshake/HandshakeMessagesFuzzTestInputs/parse");
    Files.createDirectories(records);
    Files.createDirectories(handshake);
    writeRecordSeeds(records);
    writeHandshakeSeeds(handshake);
  }

  private static void writeRecordSeeds(Path dir) throws Exception {
    RecordProtocol rekey = RecordProtocol.AES_128_GCM_REKEY;
    RecordProtocol gcm = RecordProtocol.AES_128_GCM;
    byte[] preface = RawFrames.preface();

    write(dir, "one-record", encode(
        AltsRecordProtectorFuzzTest.Options.bits(rekey, false, LIMIT_1_MIB, false), new int[0],
        seal(rekey, 4096, preface)));
    byte[] three = seal(rekey, 4096, new byte[5000], preface);
    write(dir, "records-split-everywhere", encode(
        AltsRecordProtectorFuzzTest.Options.bits(rekey, false, LIMIT_1_MIB, false),
        new int[] {1, 3, 4, 7, 8, 9, 30, 4095, 4096, 4100, 4104, 5000, 5100, three.length - 1},
        three));
    write(dir, "gcm-conscrypt-heap-buffers", encode(
        AltsRecordProtectorFuzzTest.Options.bits(gcm, true, LIMIT_1_MIB, true),
        new int[] {2, 50, 51}, seal(gcm, 4096, preface, new byte[100])));
    byte[] tampered = seal(rekey, 4096, preface, preface);
    tampered[tampered.length - 1] ^= 1;
    write(dir, "second-record-tampered", encode(
        AltsRecordProtectorFuzzTest.Options.bits(rekey, false, LIMIT_1_MIB, false),
        new int[] {20}, tampered));
    byte[] wrongType = seal(rekey, 4096, preface);
    wrongType[4] = 7;
    write(dir, "wrong-record-type", encode(
        AltsRecordProtectorFuzzTest.Options.bits(rekey, false, LIMIT_1_MIB, false),
        new int[] {6}, wrongType));
    write(dir, "record-over-limit", encode(
        AltsRecordProtectorFuzzTest.Options.bits(rekey, false, LIMIT_4_KIB, false), new int[0],
        seal(rekey, 16 << 10, new byte[5000])));
    byte[] two = seal(gcm, 4096, preface, preface);
    write(dir, "partial-second-record", encode(
        AltsRecordProtectorFuzzTest.Options.bits(gcm, false, LIMIT_1_MIB, false), new int[] {10},
        Arrays.copyOf(two, two.length - 9)));
  }

  private static void writeHandshakeSeeds(Path dir) throws Exception {
    HandshakeOptions rawKey = HandshakeOptions.newBuilder().identity(AltsLikeIdentity.generate())
        .acceptAnyPeer().build();
    HandshakeOptions serverCert = HandshakeOptions.newBuilder()
        .identity(X509Fixtures.identity("server")).trustCertificates(X509Fixtures.ca()).build();
    HandshakeOptions clientCert = HandshakeOptions.newBuilder()
        .identity(X509Fixtures.identity("client")).trustCertificates(X509Fixtures.ca()).build();

    Handshaker client = new AltsLikeHandshakerFactory(rawKey, true).newHandshaker("x", null);
    byte[] clientInit = start(client);
    Handshaker server = new AltsLikeHandshakerFactory(rawKey, false).newHandshaker(null, null);
    start(server);
    byte[] serverInit = deliver(server, clientInit);
    byte[] clientFinished = deliver(client, serverInit);

    Handshaker certClient =
        new AltsLikeHandshakerFactory(clientCert, true).newHandshaker("x", null);
    byte[] certClientInit = start(certClient);
    Handshaker certServer =
        new AltsLikeHandshakerFactory(serverCert, false).newHandshaker(null, null);
    start(certServer);
    byte[] certServerInit = deliver(certServer, certClientInit);
    byte[] certClientFinished = deliver(certClient, certServerInit);

    write(dir, "client-init", encode(DECODE_CLIENT_INIT, new int[0], clientInit));
    write(dir, "server-init-raw-key", encode(DECODE_SERVER_INIT, new int[0], serverInit));
    write(dir, "server-init-certificate", encode(DECODE_SERVER_INIT, new int[0], certServerInit));
    write(dir, "client-finished-raw-key",
        encode(DECODE_CLIENT_FINISHED, new int[] {3, 50}, clientFinished));
    write(dir, "client-finished-certificate",
        encode(DECODE_CLIENT_FINISHED, new int[0], certClientFinished));
    write(dir, "server-handshaker-whole-flight", encode(SERVER_HANDSHAKER,
        new int[] {1, 4, 8, 60, clientInit.length, clientInit.length + 4},
        clientInit, certClientFinished));
    write(dir, "client-handshaker-server-init", encode(CLIENT_HANDSHAKER, new int[] {2, 100},
        certServerInit));
    write(dir, "server-handshaker-http2-preface", encode(SERVER_HANDSHAKER, new int[0],
        RawFrames.preface()));
  }

  /**
   * Records as a client sends them: each plaintext sealed in turn, fixed keys, counter from 0.
   * Sealed on a thread of its own: every seed starts again at counter 0 under the same key, and
   * SunJCE refuses to encrypt twice with one key and nonce on the per-thread cipher.
   */
  private static byte[] seal(RecordProtocol protocol, int recordBytes, byte[]... plaintexts)
      throws Exception {
    java.util.concurrent.FutureTask<byte[]> task = new java.util.concurrent.FutureTask<>(() -> {
      AltsRecordProtector client = AltsRecordProtector.create(protocol, true,
          AltsRecordProtectorFuzzTest.key(protocol, true),
          AltsRecordProtectorFuzzTest.key(protocol, false), recordBytes,
          AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES, GcmProvider.JDK);
      ByteArrayOutputStream sealed = new ByteArrayOutputStream();
      for (byte[] plaintext : plaintexts) {
        ByteBuffer out = ByteBuffer.allocate(client.maxProtectedBytes(plaintext.length));
        client.protect(ByteBuffer.wrap(plaintext), out);
        sealed.write(out.array(), 0, out.position());
      }
      return sealed.toByteArray();
    });
    Thread sealer = new Thread(task, "seed-sealer");
    sealer.start();
    return task.get();
  }

  private static byte[] start(Handshaker h) throws Exception {
    ByteBuffer out = ByteBuffer.allocate(h.maxOutputBytes());
    h.start(out);
    return Arrays.copyOf(out.array(), out.position());
  }

  private static byte[] deliver(Handshaker h, byte[] in) throws Exception {
    ByteBuffer out = ByteBuffer.allocate(h.maxOutputBytes());
    h.onBytes(ByteBuffer.wrap(in), out);
    return Arrays.copyOf(out.array(), out.position());
  }

  private static void write(Path dir, String name, byte[] input) throws Exception {
    Files.write(dir.resolve(name), input);
  }
}
