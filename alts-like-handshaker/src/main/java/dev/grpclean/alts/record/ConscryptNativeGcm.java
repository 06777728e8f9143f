package dev.grpclean.alts.record;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;
import javax.crypto.AEADBadTagException;
import javax.crypto.BadPaddingException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-128-GCM through the one-shot BoringSSL calls that Conscrypt's own {@code AES/GCM/NoPadding}
 * cipher makes on direct buffers ({@code NativeCrypto.EVP_AEAD_CTX_seal_buf/open_buf}), without
 * the {@link Cipher} around them. AES and GHASH are BoringSSL's; only the JCE plumbing is skipped.
 *
 * <p>Why: every record needs a new nonce, and the JCE makes each nonce cost a {@code
 * Cipher.init}: our {@link GCMParameterSpec} and its copy of the nonce, Conscrypt's own parameter
 * object with another copy, and a copy of the key, about 240 B per sealed and 300 B per opened
 * record (JMH {@code Record(Read|Write)MemoryBenchmark}). The native call takes the key and nonce
 * arrays as they are, keeps no state between calls (the AEAD context lives on the native stack)
 * and allocates nothing on the Java heap, so a record costs no garbage at all.
 *
 * <p>The calls are package-private in Conscrypt, reached by reflection once. They are used only
 * if they exist with the expected signatures and pass a known-answer check against Conscrypt's
 * {@link Cipher} at class load; otherwise {@link #available()} is false and {@link AesGcm} keeps
 * using the {@link Cipher} (Conscrypt 2.5.2 is the version this was written and checked against),
 * as it does with {@value #PROPERTY}{@code =false}.
 * The native side checks both buffers' bounds and copies the input first when it overlaps the
 * output (opening in place).
 *
 * <p>Thread-safe: stateless.
 */
final class ConscryptNativeGcm {
  /**
   * System property: {@code false} keeps Conscrypt's {@link Cipher} even where the native calls
   * work (an escape hatch, and the "before" of the memory benchmarks).
   */
  static final String PROPERTY = "grpclean.alts.conscryptNative";

  private static final Logger log = Logger.getLogger(ConscryptNativeGcm.class.getName());

  private ConscryptNativeGcm() {}

  /** Whether the native calls were found and passed the known-answer check. */
  static boolean available() {
    return Holder.SEAL != null;
  }

  /**
   * Seals all of {@code in} into {@code out} (ciphertext, then the 16-byte tag); both must be
   * direct. Both advance, as with {@code Cipher.doFinal(ByteBuffer, ByteBuffer)}.
   */
  static void seal(byte[] key, byte[] nonce, @Nullable byte[] aad, ByteBuffer in, ByteBuffer out)
      throws GeneralSecurityException {
    int written = call(Holder.SEAL, key, nonce, aad, in, out);
    in.position(in.limit());
    out.position(out.position() + written);
  }

  /**
   * Opens all of {@code in} (ciphertext, then tag) into {@code out}; both must be direct and may
   * start at the same byte.
   *
   * @throws AEADBadTagException if authentication fails
   */
  static void open(byte[] key, byte[] nonce, @Nullable byte[] aad, ByteBuffer in, ByteBuffer out)
      throws GeneralSecurityException {
    int written = call(Holder.OPEN, key, nonce, aad, in, out);
    in.position(in.limit());
    out.position(out.position() + written);
  }

  /**
   * Opens {@code record}'s remaining bytes (ciphertext, then tag) in place: the plaintext starts
   * at its position. Its position and limit are left as they were.
   *
   * @return plaintext bytes
   * @throws AEADBadTagException if authentication fails
   */
  static int openInPlace(byte[] key, byte[] nonce, @Nullable byte[] aad, ByteBuffer record)
      throws GeneralSecurityException {
    return call(Holder.OPEN, key, nonce, aad, record, record);
  }

  private static int call(MethodHandle op, byte[] key, byte[] nonce, @Nullable byte[] aad,
      ByteBuffer in, ByteBuffer out) throws GeneralSecurityException {
    try {
      return (int) op.invokeExact(Holder.AES_128_GCM, key, AesGcm.TAG_BYTES, out, nonce, in, aad);
    } catch (BadPaddingException e) {
      // What Conscrypt's native code throws for a failed tag; its Cipher reports it this way.
      AEADBadTagException tag = new AEADBadTagException(e.getMessage());
      tag.initCause(e);
      throw tag;
    } catch (GeneralSecurityException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new GeneralSecurityException("Conscrypt AES-GCM failed: " + t, t);
    }
  }

  /** Resolved on first use; all null when the calls are unusable. */
  private static final class Holder {
    @Nullable static final MethodHandle SEAL;
    @Nullable static final MethodHandle OPEN;
    static final long AES_128_GCM;

    static {
      MethodHandle seal = null;
      MethodHandle open = null;
      long aead = 0;
      if (GcmProvider.conscryptAvailable()
          && !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "").trim())) {
        try {
          Class<?> nativeCrypto = Class.forName("org.conscrypt.NativeCrypto");
          MethodType type = MethodType.methodType(int.class, long.class, byte[].class, int.class,
              ByteBuffer.class, byte[].class, ByteBuffer.class, byte[].class);
          MethodHandle sealHandle = handle(nativeCrypto, "EVP_AEAD_CTX_seal_buf", type);
          MethodHandle openHandle = handle(nativeCrypto, "EVP_AEAD_CTX_open_buf", type);
          long aes = (long) handle(nativeCrypto, "EVP_aead_aes_128_gcm",
              MethodType.methodType(long.class)).invokeExact();
          if (aes != 0 && knownAnswer(sealHandle, openHandle, aes)) {
            seal = sealHandle;
            open = openHandle;
            aead = aes;
          } else {
            log.warning("Conscrypt's native AES-GCM disagreed with its Cipher; using the Cipher");
          }
        } catch (Throwable t) {
          log.log(Level.FINE, "Conscrypt's native AES-GCM calls are not usable; using its Cipher",
              t);
        }
      }
      SEAL = seal;
      OPEN = open;
      AES_128_GCM = aead;
    }

    private static MethodHandle handle(Class<?> owner, String name, MethodType type)
        throws ReflectiveOperationException {
      Method m = owner.getDeclaredMethod(name, type.parameterArray());
      if (m.getReturnType() != type.returnType()) {
        throw new NoSuchMethodException(name + " returns " + m.getReturnType());
      }
      m.setAccessible(true);
      return MethodHandles.lookup().unreflect(m);
    }

    /**
     * Seals a fixed message with both the native call and Conscrypt's {@link Cipher}, compares,
     * opens it again, and checks that a flipped tag bit is refused.
     */
    private static boolean knownAnswer(MethodHandle seal, MethodHandle open, long aes)
        throws Throwable {
      byte[] key = new byte[AesGcm.KEY_BYTES];
      byte[] nonce = new byte[AesGcm.NONCE_BYTES];
      byte[] aad = {1, 2, 3};
      byte[] message = new byte[100];
      for (int i = 0; i < message.length; i++) {
        message[i] = (byte) i;
      }
      Arrays.fill(key, (byte) 0x5a);
      Arrays.fill(nonce, (byte) 0x3c);
      Cipher cipher = GcmProvider.CONSCRYPT.newCipher();
      cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"),
          new GCMParameterSpec(AesGcm.TAG_BYTES * 8, nonce));
      cipher.updateAAD(aad);
      byte[] expected = cipher.doFinal(message);

      ByteBuffer in = ByteBuffer.allocateDirect(message.length).put(message).flip();
      ByteBuffer sealed = ByteBuffer.allocateDirect(expected.length);
      int n = (int) seal.invokeExact(aes, key, AesGcm.TAG_BYTES, sealed, nonce, in, aad);
      byte[] got = new byte[n];
      sealed.get(got);
      if (!Arrays.equals(expected, got)) {
        return false;
      }
      sealed.clear();
      ByteBuffer opened = ByteBuffer.allocateDirect(expected.length);
      n = (int) open.invokeExact(aes, key, AesGcm.TAG_BYTES, opened, nonce, sealed, aad);
      byte[] back = new byte[n];
      opened.get(back);
      if (!Arrays.equals(message, back)) {
        return false;
      }
      sealed.put(expected.length - 1, (byte) (expected[expected.length - 1] ^ 1)).clear();
      opened.clear();
      try {
        int unused = (int) open.invokeExact(aes, key, AesGcm.TAG_BYTES, opened, nonce, sealed, aad);
        return false;
      } catch (BadPaddingException expectedFailure) {
        return true;
      }
    }
  }
}
