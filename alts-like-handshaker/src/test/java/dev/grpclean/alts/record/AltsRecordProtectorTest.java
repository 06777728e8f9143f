package dev.grpclean.alts.record;

import static dev.grpclean.alts.TestHex.encode;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
import dev.grpclean.transport.spi.RecordProtector.PlaintextSink;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/** The record layer over both protocols and both providers. */
@RunWith(Parameterized.class)
public class AltsRecordProtectorTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Parameters(name = "{0} {1}")
  public static List<Object[]> parameters() {
    List<Object[]> out = new ArrayList<>();
    for (GcmProvider provider : GcmProvider.values()) {
      for (RecordProtocol protocol : RecordProtocol.values()) {
        out.add(new Object[] {provider, protocol});
      }
    }
    return out;
  }

  private final GcmProvider provider;
  private final RecordProtocol protocol;
  private final Random random = new Random(42);
  private byte[] clientToServerKey;
  private byte[] serverToClientKey;

  public AltsRecordProtectorTest(GcmProvider provider, RecordProtocol protocol) {
    this.provider = provider;
    this.protocol = protocol;
  }

  @Before
  public void setUp() {
    assumeTrue(provider + " not available", provider.available());
    clientToServerKey = randomBytes(protocol.keyBytes());
    serverToClientKey = randomBytes(protocol.keyBytes());
  }

  @Test
  public void roundTripsBothWays() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    for (int size : new int[] {0, 1, 100, 4072, 4073, 3 * 4072 + 5, 100_000}) {
      byte[] message = randomBytes(size);
      assertArrayEquals("client->server " + size, message, open(server, seal(client, message)));
      assertArrayEquals("server->client " + size, message, open(client, seal(server, message)));
      assertEquals(0, server.pendingBytes());
      assertEquals(0, client.pendingBytes());
    }
  }

  @Test
  public void recordsAreAltsFramedAndMatchAnIndependentSeal() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    byte[] hello = "hello, record".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    for (long counter = 0; counter < 2; counter++) {
      byte[] record = bytes(seal(client, hello));
      assertEquals(4 + 4 + hello.length + 16, record.length);
      assertEquals("length field, little-endian", hello.length + 20, intLe(record, 0));
      assertEquals("type field, little-endian", 6, intLe(record, 4));
      assertEquals(encode(referenceSeal(clientToServerKey, counter, false, hello)),
          encode(Arrays.copyOfRange(record, 8, record.length)));
    }
    byte[] fromServer = bytes(seal(server, hello));
    assertEquals(encode(referenceSeal(serverToClientKey, 0, true, hello)),
        encode(Arrays.copyOfRange(fromServer, 8, fromServer.length)));
  }

  @Test
  public void largePlaintextIsSplitIntoFullRecords() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.MIN_RECORD_BYTES);
    assertEquals(4072, client.maxPayloadBytes());
    byte[] sealed = bytes(seal(client, randomBytes(10_000)));
    assertEquals(10_000 + 3 * 24, sealed.length);
    assertEquals(4092, intLe(sealed, 0));
    assertEquals(4092, intLe(sealed, 4096));
    assertEquals(10_000 - 2 * 4072 + 20, intLe(sealed, 8192));
  }

  @Test
  public void maxProtectedBytesCountsOverheadPerRecord() {
    AltsRecordProtector client = client(AltsRecordProtector.MIN_RECORD_BYTES);
    assertEquals(0, client.maxProtectedBytes(0));
    assertEquals(25, client.maxProtectedBytes(1));
    assertEquals(4096, client.maxProtectedBytes(4072));
    assertEquals(4073 + 48, client.maxProtectedBytes(4073));
  }

  @Test
  public void protectRefusesAnOutBufferWithoutRoom() {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    assertThrows(IllegalArgumentException.class,
        () -> client.protect(ByteBuffer.allocate(100), ByteBuffer.allocateDirect(123)));
  }

  @Test
  public void flippingAnyBitFailsClosed() throws Exception {
    byte[] record = bytes(seal(client(AltsRecordProtector.DEFAULT_RECORD_BYTES),
        "attack at dawn".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    for (int bit = 0; bit < record.length * 8; bit++) {
      byte[] tampered = record.clone();
      tampered[bit / 8] ^= (byte) (1 << (bit % 8));
      AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
      ByteArrayOutputStream delivered = new ByteArrayOutputStream();
      try {
        server.unprotect(direct(tampered), collect(delivered));
        // Only a length that grew may wait for more bytes; nothing may be delivered.
        assertTrue("bit " + bit, bit < 32 && server.pendingBytes() == tampered.length);
      } catch (GeneralSecurityException expected) {
        assertThrows(IllegalStateException.class,
            () -> server.unprotect(direct(record), collect(delivered)));
      }
      assertEquals("bit " + bit + " delivered plaintext", 0, delivered.size());
    }
  }

  @Test
  public void replayedRecordFails() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    byte[] record = bytes(seal(client, randomBytes(10)));
    open(server, direct(record));
    GeneralSecurityException e =
        assertThrows(GeneralSecurityException.class, () -> open(server, direct(record)));
    assertTrue(e.getMessage(), e.getMessage().contains("ALTS record 1 failed authentication"));
  }

  @Test
  public void reorderedRecordsFail() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    seal(client, randomBytes(10));
    ByteBuffer second = seal(client, randomBytes(10));
    assertThrows(GeneralSecurityException.class, () -> open(server, second));
  }

  @Test
  public void reflectedRecordFailsEvenWithOneKeyForBothDirections() throws Exception {
    AltsRecordProtector client = AltsRecordProtector.create(protocol, true, clientToServerKey,
        clientToServerKey, 4096, 1 << 20, provider);
    ByteBuffer own = seal(client, randomBytes(10));
    assertThrows(GeneralSecurityException.class, () -> open(client, own));
  }

  @Test
  public void outboundCounterOverflowFails() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    long last = protocol == RecordProtocol.AES_128_GCM ? (1L << 40) - 1 : -1L;
    client.outboundCounter().setForTesting(last);
    server.inboundCounter().setForTesting(last);
    byte[] message = randomBytes(33);
    assertArrayEquals(message, open(server, seal(client, message)));
    GeneralSecurityException e =
        assertThrows(GeneralSecurityException.class, () -> seal(client, message));
    assertTrue(e.getMessage(), e.getMessage().contains("counter exhausted"));
    assertThrows(IllegalStateException.class, () -> seal(client, message));
  }

  @Test
  public void inboundCounterOverflowFails() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    long last = protocol == RecordProtocol.AES_128_GCM ? (1L << 40) - 1 : -1L;
    client.outboundCounter().setForTesting(last - 1);
    server.inboundCounter().setForTesting(last - 1);
    open(server, seal(client, randomBytes(5)));
    open(server, seal(client, randomBytes(5)));
    // The server has now opened the last record its counter allows; nothing more may open.
    AltsRecordProtector other = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    ByteBuffer anyRecord = seal(other, randomBytes(5));
    GeneralSecurityException e =
        assertThrows(GeneralSecurityException.class, () -> open(server, anyRecord));
    assertTrue(e.getMessage(), e.getMessage().contains("counter exhausted"));
  }

  @Test
  public void recordsCrossTheRekeyBoundary() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    client.outboundCounter().setForTesting(65534);
    server.inboundCounter().setForTesting(65534);
    for (int i = 0; i < 4; i++) {
      byte[] message = randomBytes(100 + i);
      assertArrayEquals(message, open(server, seal(client, message)));
    }
  }

  @Test
  public void oversizedRecordFailsFromItsLengthField() throws Exception {
    AltsRecordProtector server = AltsRecordProtector.create(protocol, false, serverToClientKey,
        clientToServerKey, 4096, 8192, provider);
    ByteBuffer header = direct(new byte[] {(byte) 0xfd, 0x1f, 0, 0}); // 8189 + 4 = 8193 bytes
    GeneralSecurityException e = assertThrows(
        GeneralSecurityException.class, () -> server.unprotect(header, collect(null)));
    assertEquals("ALTS record of 8193 bytes exceeds the limit of 8192 bytes", e.getMessage());
    assertEquals(0, server.pendingBytes());
  }

  @Test
  public void recordExactlyAtTheLimitOpens() throws Exception {
    AltsRecordProtector client = client(8192);
    AltsRecordProtector server = AltsRecordProtector.create(protocol, false, serverToClientKey,
        clientToServerKey, 4096, 8192, provider);
    byte[] message = randomBytes(8192 - 24);
    ByteBuffer sealed = seal(client, message);
    assertEquals(8192, sealed.remaining());
    assertArrayEquals(message, open(server, sealed));
  }

  @Test
  public void lengthTooShortForTypeAndTagFails() throws Exception {
    AltsRecordProtector server = server(4096);
    ByteBuffer record = direct(new byte[] {19, 0, 0, 0, 6, 0, 0, 0});
    GeneralSecurityException e = assertThrows(
        GeneralSecurityException.class, () -> server.unprotect(record, collect(null)));
    assertTrue(e.getMessage(), e.getMessage().contains("shorter than a record's type and tag"));
  }

  @Test
  public void unexpectedRecordTypeFails() throws Exception {
    byte[] record = bytes(seal(client(4096), randomBytes(10)));
    record[4] = 7;
    GeneralSecurityException e = assertThrows(
        GeneralSecurityException.class,
        () -> server(4096).unprotect(direct(record), collect(null)));
    assertEquals("unexpected ALTS record type 7, expected 6", e.getMessage());
  }

  @Test
  public void recordsFedByteByByteKeepOnlyTheirPendingBytes() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    byte[] first = randomBytes(9000);
    byte[] second = randomBytes(5);
    byte[] wire = concat(bytes(seal(client, first)), bytes(seal(client, second)));
    List<Integer> boundaries = recordBoundaries(wire);
    ByteArrayOutputStream delivered = new ByteArrayOutputStream();
    ByteBuffer one = ByteBuffer.allocateDirect(1);
    for (int i = 0; i < wire.length; i++) {
      one.clear();
      one.put(wire[i]).flip();
      server.unprotect(one, collect(delivered));
      assertEquals(0, one.remaining());
      checkMemoryRule(server, boundaries.contains(i + 1));
    }
    assertArrayEquals(concat(first, second), delivered.toByteArray());
  }

  @Test
  public void recordsOverTheThreadScratchOpenWholeAndSplitByteExact() throws Exception {
    // Records up to AesGcm.MAX_SCRATCH_BYTES open into the thread's scratch (Conscrypt's native
    // calls); larger ones open in place. Mix both sizes, whole and split across reads.
    int large = AesGcm.MAX_SCRATCH_BYTES + 4096;
    AltsRecordProtector client = client(large);
    AltsRecordProtector server = server(large);
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    ByteArrayOutputStream wire = new ByteArrayOutputStream();
    for (int size : new int[] {10, 2 * large, 1000, large - 24, AesGcm.MAX_SCRATCH_BYTES - 24, 7}) {
      byte[] message = randomBytes(size);
      expected.write(message);
      wire.write(bytes(seal(client, message)));
    }
    byte[] all = wire.toByteArray();
    assertArrayEquals(expected.toByteArray(), open(server, direct(all)));
    AltsRecordProtector splitServer = server(large);
    List<Integer> boundaries = recordBoundaries(all);
    ByteArrayOutputStream delivered = new ByteArrayOutputStream();
    for (int at = 0; at < all.length; ) {
      int n = Math.min(all.length - at, 1 + random.nextInt(50_000));
      splitServer.unprotect(direct(Arrays.copyOfRange(all, at, at + n)), collect(delivered));
      at += n;
      checkMemoryRule(splitServer, boundaries.contains(at));
    }
    assertArrayEquals(expected.toByteArray(), delivered.toByteArray());
  }

  @Test
  public void openingLeavesTheReadBufferUnchangedWhenItOpensIntoTheScratch() throws Exception {
    // Where the native calls are used, records open into the thread's scratch: the caller's
    // ciphertext stays as it was (nothing is decrypted in place), and the plaintext is exact.
    assumeTrue(provider == GcmProvider.CONSCRYPT && ConscryptNativeGcm.available());
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    byte[] message = randomBytes(40_000);
    byte[] wire = bytes(seal(client, message));
    ByteBuffer read = direct(wire);
    assertArrayEquals(message, open(server, read));
    byte[] after = new byte[wire.length];
    read.flip();
    read.get(after);
    assertArrayEquals(wire, after);
  }

  @Test
  public void randomChunksAcrossManyRecords() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    ByteArrayOutputStream wire = new ByteArrayOutputStream();
    for (int i = 0; i < 50; i++) {
      byte[] message = randomBytes(random.nextInt(10_000));
      expected.write(message);
      wire.write(bytes(seal(client, message)));
    }
    byte[] all = wire.toByteArray();
    List<Integer> boundaries = recordBoundaries(all);
    ByteArrayOutputStream delivered = new ByteArrayOutputStream();
    for (int at = 0; at < all.length; ) {
      int n = Math.min(all.length - at, 1 + random.nextInt(20_000));
      server.unprotect(direct(Arrays.copyOfRange(all, at, at + n)), collect(delivered));
      at += n;
      checkMemoryRule(server, boundaries.contains(at));
    }
    assertArrayEquals(expected.toByteArray(), delivered.toByteArray());
  }

  @Test
  public void splitRecordInHeapAndLeasedBuffersReturnToBaseline() throws Exception {
    BufferPool io = Pools.io();
    long baseline = io.leasedBytes();
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    byte[] message = randomBytes(20_000);
    ByteBuffer plaintext = io.lease(message.length);
    ByteBuffer sealed = io.lease(client.maxProtectedBytes(message.length));
    plaintext.put(message).flip();
    client.protect(plaintext, sealed);
    io.release(plaintext);
    sealed.flip();
    ByteArrayOutputStream delivered = new ByteArrayOutputStream();
    // Two reads, split mid-record: each lease lives for one call only.
    for (int[] range : new int[][] {{0, 7000}, {7000, sealed.limit()}}) {
      ByteBuffer read = io.lease(range[1] - range[0]);
      ByteBuffer source = sealed.duplicate();
      source.limit(range[1]).position(range[0]);
      read.put(source).flip();
      server.unprotect(read, collect(delivered));
      io.release(read);
      assertEquals(baseline + sealed.capacity(), io.leasedBytes());
    }
    io.release(sealed);
    assertEquals(baseline, io.leasedBytes());
    assertEquals(0, server.pendingBytes());
    assertArrayEquals(message, delivered.toByteArray());
  }

  /**
   * Under load every read ends inside a record: the stash of a split record is a heap-pool lease
   * (within twice what is pending), handed back when the record opens, so a long run of split
   * records allocates nothing new after the first.
   */
  @Test
  public void splitRecordStashIsAPooledLeaseReusedRecordAfterRecord() throws Exception {
    BufferPool heap = new BufferPool("stash", false, 1 << 20, true);
    AltsRecordProtector client = client(AltsRecordProtector.MIN_RECORD_BYTES);
    AltsRecordProtector server = AltsRecordProtector.create(protocol, false, serverToClientKey,
        clientToServerKey, AltsRecordProtector.MIN_RECORD_BYTES,
        AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES, provider, heap);
    ByteArrayOutputStream delivered = new ByteArrayOutputStream();
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    for (int i = 0; i < 20; i++) {
      byte[] message = randomBytes(AltsRecordProtector.MIN_RECORD_BYTES - 24);
      expected.write(message);
      byte[] record = bytes(seal(client, message));
      server.unprotect(direct(Arrays.copyOf(record, 3000)), collect(delivered));
      assertEquals(3000, server.pendingBytes());
      assertEquals("the stash is the 4 KiB class", 4096, heap.leasedBytes());
      assertTrue(heap.leasedBytes() <= 2L * server.pendingBytes());
      server.unprotect(direct(Arrays.copyOfRange(record, 3000, record.length)),
          collect(delivered));
      assertEquals(0, server.pendingBytes());
      assertEquals("returned once the record opened", 0, heap.leasedBytes());
    }
    assertArrayEquals(expected.toByteArray(), delivered.toByteArray());
    assertEquals("one stash allocated, then reused", 4096, heap.allocatedBytes());
    server.unprotect(direct(Arrays.copyOf(bytes(seal(client, randomBytes(100))), 50)),
        collect(null));
    server.release();
    heap.assertNoLeaks();
  }

  @Test
  public void releaseDropsPendingBytesAndRefusesUse() throws Exception {
    AltsRecordProtector client = client(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    AltsRecordProtector server = server(AltsRecordProtector.DEFAULT_RECORD_BYTES);
    byte[] record = bytes(seal(client, randomBytes(1000)));
    server.unprotect(direct(Arrays.copyOf(record, 500)), collect(null));
    assertEquals(500, server.pendingBytes());
    server.release();
    server.release();
    assertEquals(0, server.pendingBytes());
    assertThrows(IllegalStateException.class,
        () -> server.unprotect(direct(record), collect(null)));
  }

  // --- helpers ---

  private void checkMemoryRule(AltsRecordProtector p, boolean atBoundary) {
    if (atBoundary) {
      assertEquals("pending bytes at a record boundary", 0, p.pendingBytes());
      assertEquals(0, p.pendingCapacityBytes());
    } else {
      assertTrue(p.pendingBytes() > 0);
      assertTrue("capacity " + p.pendingCapacityBytes() + " for " + p.pendingBytes() + " pending",
          p.pendingCapacityBytes() <= 2 * p.pendingBytes());
    }
  }

  /** Offsets just past each record in a sealed stream. */
  private static List<Integer> recordBoundaries(byte[] wire) {
    List<Integer> out = new ArrayList<>();
    for (int at = 0; at < wire.length; ) {
      at += 4 + intLe(wire, at);
      out.add(at);
    }
    return out;
  }

  /** AES-GCM straight from the JDK, following the ALTS description rather than our code. */
  private byte[] referenceSeal(byte[] key, long counter, boolean server, byte[] plaintext)
      throws Exception {
    byte[] nonce = new byte[12];
    for (int i = 0; i < 8; i++) {
      nonce[i] = (byte) (counter >>> (8 * i));
    }
    nonce[11] = server ? (byte) 0x80 : 0;
    byte[] aesKey = key;
    if (protocol == RecordProtocol.AES_128_GCM_REKEY) {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, 0, 32, "HmacSHA256"));
      mac.update(Arrays.copyOfRange(nonce, 2, 8));
      mac.update((byte) 1);
      aesKey = Arrays.copyOf(mac.doFinal(), 16);
      for (int i = 0; i < 12; i++) {
        nonce[i] ^= key[32 + i];
      }
    }
    Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding", "SunJCE");
    cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(aesKey, "AES"),
        new GCMParameterSpec(128, nonce));
    return cipher.doFinal(plaintext);
  }

  private AltsRecordProtector client(int recordBytes) {
    return AltsRecordProtector.create(protocol, true, clientToServerKey, serverToClientKey,
        recordBytes, AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES, provider);
  }

  private AltsRecordProtector server(int recordBytes) {
    return AltsRecordProtector.create(protocol, false, serverToClientKey, clientToServerKey,
        recordBytes, AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES, provider);
  }

  private static ByteBuffer seal(AltsRecordProtector p, byte[] plaintext)
      throws GeneralSecurityException {
    ByteBuffer out = ByteBuffer.allocateDirect(Math.max(1, p.maxProtectedBytes(plaintext.length)));
    p.protect(direct(plaintext), out);
    return out.flip();
  }

  private static byte[] open(AltsRecordProtector p, ByteBuffer sealed) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    p.unprotect(sealed, collect(out));
    assertEquals(0, sealed.remaining());
    return out.toByteArray();
  }

  private static PlaintextSink collect(ByteArrayOutputStream out) {
    return plaintext -> {
      if (out == null) {
        fail("no plaintext expected");
      }
      byte[] b = new byte[plaintext.remaining()];
      plaintext.get(b);
      out.write(b, 0, b.length);
    };
  }

  private static ByteBuffer direct(byte[] bytes) {
    ByteBuffer b = ByteBuffer.allocateDirect(Math.max(1, bytes.length));
    b.put(bytes).flip();
    return b;
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private static int intLe(byte[] b, int at) {
    return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16
        | (b[at + 3] & 0xff) << 24;
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }
}
