package dev.grpclean.alts.record;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
import dev.grpclean.transport.testing.FuzzInput;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes the record layer's open path, {@link AltsRecordProtector#unprotect}, as the transport
 * drives it on the server side: arbitrary bytes in arbitrary pieces, each piece in a buffer leased
 * for the one call.
 *
 * <p>Input layout ({@link FuzzInput}; the options in {@link Options}): byte 0 picks the record
 * protocol, the AES-GCM provider, the inbound record limit and direct or heap buffers; byte 1 the
 * number of split points (0 to 15); two bytes per split point (big-endian, modulo the length);
 * then the bytes from the wire.
 * The keys are fixed ({@link #key}), so a committed seed can hold records that open.
 *
 * <p>What must hold for every input:
 * <ul>
 *   <li>{@code unprotect} throws nothing but {@link GeneralSecurityException}; afterwards the
 *       protector holds nothing and refuses use ({@link IllegalStateException});
 *   <li>each call consumes its whole buffer, and the buffer is only borrowed: it is poisoned and
 *       returned after the call, so a protector that kept a view would deliver other plaintext;
 *       no lease is left outstanding;
 *   <li>the split does not matter: the pieces deliver the same plaintext, fail or not alike, and
 *       keep the same number of pending bytes as the whole stream in one buffer;
 *   <li>between calls, a split record is held in a heap array of at most twice its bytes so far,
 *       below the inbound record limit; nothing once it completes; nothing after release.
 * </ul>
 *
 * <p>{@code scripts/fuzz records} runs it in fuzzing mode; plain {@code mvn verify} runs it over
 * {@code AltsRecordProtectorFuzzTestInputs/unprotect}. The class timeout is also Jazzer's
 * per-input timeout when fuzzing.
 *
 * <p>Each invocation builds its own protectors; nothing is shared between inputs.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AltsRecordProtectorFuzzTest {
  /** Inbound record limits (whole record) the input chooses from: the least allowed up to 1 MiB. */
  private static final int[] MAX_INBOUND_RECORD_BYTES = {
    AltsRecordProtector.OVERHEAD_BYTES, 64, AltsRecordProtector.DEFAULT_RECORD_BYTES,
    16 << 10, AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES
  };
  private static final byte POISON = (byte) 0xA5;

  /** Option bits of input byte 0; {@link #bits} builds byte 0 for seeds. */
  static final class Options {
    final RecordProtocol protocol;
    final GcmProvider provider;
    final int maxInboundRecordBytes;
    final boolean heapBuffers;

    Options(int bits) {
      protocol = (bits & 1) == 0 ? RecordProtocol.AES_128_GCM_REKEY : RecordProtocol.AES_128_GCM;
      provider = (bits & 2) != 0 && GcmProvider.CONSCRYPT.available()
          ? GcmProvider.CONSCRYPT : GcmProvider.JDK;
      maxInboundRecordBytes =
          MAX_INBOUND_RECORD_BYTES[((bits >> 2) & 7) % MAX_INBOUND_RECORD_BYTES.length];
      heapBuffers = (bits & 0x20) != 0;
    }

    static int bits(RecordProtocol protocol, boolean conscrypt, int limitIndex, boolean heap) {
      return (protocol == RecordProtocol.AES_128_GCM ? 1 : 0) | (conscrypt ? 2 : 0)
          | limitIndex << 2 | (heap ? 0x20 : 0);
    }
  }

  /** The fixed key material of one direction; the seeds' records are sealed client to server. */
  static byte[] key(RecordProtocol protocol, boolean clientToServer) {
    byte[] key = new byte[protocol.keyBytes()];
    for (int i = 0; i < key.length; i++) {
      key[i] = (byte) (i * 13 + (clientToServer ? 1 : 101));
    }
    return key;
  }

  @FuzzTest(maxDuration = "20s")
  void unprotect(byte[] input) throws Exception {
    FuzzInput fuzzInput = FuzzInput.of(input);
    Options options = new Options(fuzzInput.options());
    byte[] stream = fuzzInput.payload();
    int[] cuts = fuzzInput.cuts(stream.length);
    BufferPool pool = options.heapBuffers ? Pools.heap() : Pools.io();
    long leasesBefore = pool.leasesOutstanding();

    Run whole = new Run(options);
    whole.feed(ByteBuffer.wrap(stream.clone()));
    Run pieces = new Run(options);
    int from = 0;
    for (int cut : cuts) {
      pieces.feedLeased(pool, stream, from, cut);
      from = cut;
    }
    pieces.feedLeased(pool, stream, from, stream.length);

    assertArrayEquals(whole.plaintext.toByteArray(), pieces.plaintext.toByteArray(),
        "plaintext depends on how reads split");
    assertEquals(whole.failed, pieces.failed, "failure depends on how reads split");
    assertEquals(whole.protector.pendingBytes(), pieces.protector.pendingBytes(),
        "pending bytes depend on how reads split");
    whole.finish();
    pieces.finish();
    assertEquals(leasesBefore, pool.leasesOutstanding(), "lease left outstanding");
  }

  /** One server-side protector fed one way, with what it delivered. Fuzzing thread only. */
  private static final class Run {
    final Options options;
    final AltsRecordProtector protector;
    final ByteArrayOutputStream plaintext = new ByteArrayOutputStream();
    long ciphertextBytes;
    boolean failed;

    Run(Options options) {
      this.options = options;
      this.protector = AltsRecordProtector.create(options.protocol, false,
          key(options.protocol, false), key(options.protocol, true),
          AltsRecordProtector.DEFAULT_RECORD_BYTES, options.maxInboundRecordBytes,
          options.provider);
    }

    /** Copies {@code stream[from, to)} into a leased buffer, opens it, poisons it, returns it. */
    void feedLeased(BufferPool pool, byte[] stream, int from, int to) throws Exception {
      if (failed || from == to) {
        return;
      }
      ByteBuffer lease = pool.lease(to - from);
      try {
        lease.put(stream, from, to - from).flip();
        feed(lease);
      } finally {
        lease.clear();
        while (lease.hasRemaining()) {
          lease.put(POISON);
        }
        pool.release(lease);
      }
    }

    void feed(ByteBuffer in) throws Exception {
      ciphertextBytes += in.remaining();
      try {
        protector.unprotect(in, this::onPlaintext);
      } catch (GeneralSecurityException e) {
        failed = true;
        return;
      }
      assertFalse(in.hasRemaining(), "unprotect left bytes unconsumed");
      int pending = protector.pendingBytes();
      int held = protector.pendingCapacityBytes();
      if (pending >= options.maxInboundRecordBytes || held > 2L * pending
          || (pending == 0) != (held == 0)) {
        throw new AssertionError("holds " + held + " bytes for " + pending + " pending (limit "
            + options.maxInboundRecordBytes + ")");
      }
    }

    private void onPlaintext(ByteBuffer p) {
      byte[] bytes = new byte[p.remaining()];
      p.get(bytes);
      plaintext.write(bytes, 0, bytes.length);
      if (plaintext.size() > ciphertextBytes) {
        throw new AssertionError("more plaintext than ciphertext");
      }
    }

    /** A failed protector holds nothing and refuses use; so does a released one. */
    void finish() {
      if (failed) {
        assertEquals(0, protector.pendingCapacityBytes(), "a failed protector still holds bytes");
        assertThrows(IllegalStateException.class,
            () -> protector.unprotect(ByteBuffer.allocate(1), p -> { }));
      }
      protector.release();
      assertEquals(0, protector.pendingBytes(), "a released protector still holds bytes");
      assertEquals(0, protector.pendingCapacityBytes(), "a released protector still holds bytes");
      assertThrows(IllegalStateException.class,
          () -> protector.unprotect(ByteBuffer.allocate(1), p -> { }));
    }
  }
}
