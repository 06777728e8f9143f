package dev.grpclean.alts.record;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.nio.ByteBuffer;
import java.util.Random;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Conscrypt's AES-GCM without the {@link Cipher}: found and used whenever Conscrypt loads, equal
 * to Conscrypt's {@link Cipher} byte for byte (sizes around the block and scratch boundaries,
 * direct and heap buffers, in place), and refusing tampered records as the cipher does.
 */
public class ConscryptNativeGcmTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private final Random random = new Random(7);

  @Before
  public void conscryptLoads() {
    assumeTrue("Conscrypt is not available here", GcmProvider.conscryptAvailable());
  }

  @Test
  public void nativeCallsAreFoundAndPassTheirSelfCheck() {
    assertTrue(ConscryptNativeGcm.available());
  }

  @Test
  public void sealMatchesConscryptsCipherAndOpensInPlace() throws Exception {
    for (int size : new int[] {0, 1, 15, 16, 17, 4072, 16_360, 70_000}) {
      byte[] key = bytes(AesGcm.KEY_BYTES);
      byte[] nonce = bytes(AesGcm.NONCE_BYTES);
      byte[] message = bytes(size);
      byte[] expected = cipherSeal(key, nonce, message);
      for (boolean direct : new boolean[] {true, false}) {
        ByteBuffer in = buffer(direct, size).put(message).flip();
        ByteBuffer out = buffer(direct, size + AesGcm.TAG_BYTES);
        AesGcm.of(GcmProvider.CONSCRYPT)
            .seal(new SecretKeySpec(key, "AES"), key, nonce, null, in, out);
        assertEquals(0, in.remaining());
        assertEquals(expected.length, out.position());
        out.flip();
        byte[] sealed = new byte[out.remaining()];
        out.duplicate().get(sealed);
        assertArrayEquals("size " + size + (direct ? " direct" : " heap"), expected, sealed);

        ByteBuffer place = out.duplicate();
        AesGcm.of(GcmProvider.CONSCRYPT)
            .open(new SecretKeySpec(key, "AES"), key, nonce, null, out, place);
        assertEquals(size, place.position());
        byte[] opened = new byte[size];
        place.flip();
        place.get(opened);
        assertArrayEquals(message, opened);
      }
    }
  }

  @Test
  public void tamperedRecordIsRefusedAsABadTag() throws Exception {
    byte[] key = bytes(AesGcm.KEY_BYTES);
    byte[] nonce = bytes(AesGcm.NONCE_BYTES);
    byte[] sealed = cipherSeal(key, nonce, bytes(100));
    sealed[3] ^= 1;
    ByteBuffer in = ByteBuffer.allocateDirect(sealed.length).put(sealed).flip();
    ByteBuffer out = ByteBuffer.allocateDirect(sealed.length);
    assertThrows(AEADBadTagException.class, () -> ConscryptNativeGcm.open(key, nonce, null, in,
        out));
  }

  private static byte[] cipherSeal(byte[] key, byte[] nonce, byte[] message) throws Exception {
    Cipher cipher = GcmProvider.CONSCRYPT.newCipher();
    cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"),
        new GCMParameterSpec(AesGcm.TAG_BYTES * 8, nonce));
    return cipher.doFinal(message);
  }

  private static ByteBuffer buffer(boolean direct, int bytes) {
    return direct ? ByteBuffer.allocateDirect(bytes) : ByteBuffer.allocate(bytes);
  }

  private byte[] bytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }
}
