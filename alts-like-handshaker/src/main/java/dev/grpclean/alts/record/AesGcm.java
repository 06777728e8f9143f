package dev.grpclean.alts.record;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.annotation.Nullable;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-128-GCM seal and open over {@link ByteBuffer}s, one record per call, through one provider.
 *
 * <p>Why the {@link Cipher} is per thread, not per connection: every record re-initialises the
 * cipher with its own nonce anyway, so between records a cipher carries no connection state worth
 * keeping, yet an initialised SunJCE GCM cipher retains about a kilobyte (key schedule, GHASH and
 * counter engines). Keeping one per thread that seals or opens records makes an idle connection
 * cost only its keys and counters. The thread-local cipher keeps the last key's schedule until its
 * next use; the key bytes themselves are not secret from this process.
 *
 * <p>Why per-thread scratch space: each provider is fast on one kind of buffer and copies the
 * other kind into fresh arrays on every call. SunJCE (JDK 17) copies a direct input into a new
 * heap array, and once more when input and output overlap (opening in place); Conscrypt copies
 * heap arrays (about four record sizes per call, measured). So a buffer of the other kind is
 * copied into a reused per-thread scratch of the provider's kind (a heap array for the JDK, a
 * direct buffer for Conscrypt), sealed or opened there in place, and copied back: two memcpys
 * instead of allocations. The scratch grows to the largest record the thread has seen, up to
 * {@link #MAX_SCRATCH_BYTES}; larger records go to the provider as they are.
 *
 * <p>Per-record allocation that the JCE API forces on us: one {@link GCMParameterSpec} (which
 * clones the nonce) per record, and in SunJCE the GCM engine objects created by each {@code init}.
 * With Conscrypt the {@link Cipher} is skipped when its native calls are usable ({@link
 * ConscryptNativeGcm}): no Java garbage per record at all.
 *
 * <p>Thread-safe: all mutable state is per thread.
 */
final class AesGcm {
  static final int KEY_BYTES = 16;
  static final int NONCE_BYTES = 12;
  static final int TAG_BYTES = 16;
  private static final int TAG_BITS = TAG_BYTES * 8;

  /**
   * 64 KiB plus a tag: covers the default 4 KiB records and the 16 KiB ones that are cheaper per
   * byte, while bounding what each sealing thread keeps to one such array.
   */
  static final int MAX_SCRATCH_BYTES = (64 << 10) + TAG_BYTES;

  private static final AesGcm JDK = new AesGcm(GcmProvider.JDK);
  private static final AesGcm CONSCRYPT = new AesGcm(GcmProvider.CONSCRYPT);

  private final GcmProvider provider;
  /** Conscrypt's AES-GCM without the {@link Cipher}: see {@link ConscryptNativeGcm}. */
  private final boolean nativeGcm;
  private final ThreadLocal<Worker> workers = new ThreadLocal<>();

  private AesGcm(GcmProvider provider) {
    this.provider = provider;
    this.nativeGcm = provider == GcmProvider.CONSCRYPT && ConscryptNativeGcm.available();
  }

  static AesGcm of(GcmProvider provider) {
    return provider == GcmProvider.JDK ? JDK : CONSCRYPT;
  }

  GcmProvider provider() {
    return provider;
  }

  /**
   * Encrypts all of {@code in} into {@code out} as ciphertext followed by the 16-byte tag. Both
   * buffers advance. {@code out} must have {@code in.remaining() + 16} bytes remaining; it may
   * overlap {@code in} only if it starts at the same byte.
   */
  void seal(SecretKeySpec key, byte[] rawKey, byte[] nonce, @Nullable byte[] aad, ByteBuffer in,
      ByteBuffer out) throws GeneralSecurityException {
    if (nativeGcm && (in.isDirect() && out.isDirect()
        || in.remaining() + TAG_BYTES <= MAX_SCRATCH_BYTES)) {
      nativeCrypt(true, rawKey, nonce, aad, in, out);
      return;
    }
    Worker worker = worker();
    Cipher cipher = worker.cipher(provider);
    cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
    if (aad != null) {
      cipher.updateAAD(aad);
    }
    crypt(worker, in, out);
  }

  /**
   * Decrypts and authenticates all of {@code in} (ciphertext then tag) into {@code out}, which
   * receives {@code in.remaining() - 16} bytes and must have {@code in.remaining()} remaining (some
   * providers want room for the tag). Opening in place is allowed: {@code out} starting at the same
   * byte as {@code in}.
   *
   * @throws javax.crypto.AEADBadTagException if authentication fails; {@code out} then holds
   *     nothing usable
   */
  void open(SecretKeySpec key, byte[] rawKey, byte[] nonce, @Nullable byte[] aad, ByteBuffer in,
      ByteBuffer out) throws GeneralSecurityException {
    if (in.remaining() < TAG_BYTES) {
      throw new GeneralSecurityException("ciphertext shorter than the GCM tag");
    }
    if (nativeGcm && (in.isDirect() && out.isDirect() || in.remaining() <= MAX_SCRATCH_BYTES)) {
      nativeCrypt(false, rawKey, nonce, aad, in, out);
      return;
    }
    Worker worker = worker();
    Cipher cipher = worker.cipher(provider);
    cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
    if (aad != null) {
      cipher.updateAAD(aad);
    }
    crypt(worker, in, out);
  }

  /** Whether {@link #openInPlace} can open {@code record} without a second buffer view. */
  boolean opensInPlace(ByteBuffer record) {
    return nativeGcm && record.isDirect();
  }

  /**
   * Opens {@code record}'s remaining bytes in place, the plaintext starting at its position, which
   * (like its limit) is left unchanged; only where {@link #opensInPlace} says so.
   *
   * @return plaintext bytes
   */
  int openInPlace(byte[] rawKey, byte[] nonce, @Nullable byte[] aad, ByteBuffer record)
      throws GeneralSecurityException {
    if (record.remaining() < TAG_BYTES) {
      throw new GeneralSecurityException("ciphertext shorter than the GCM tag");
    }
    return ConscryptNativeGcm.openInPlace(rawKey, nonce, aad, record);
  }

  /**
   * Opens all of {@code record} (ciphertext, then tag; it advances to its limit) into this
   * thread's plaintext scratch and returns that scratch holding the plaintext (position 0), valid
   * until this thread's next call here; or returns null, consuming nothing, where it cannot: not
   * the native calls ({@link ConscryptNativeGcm}) or a record over {@link #MAX_SCRATCH_BYTES}.
   * A heap record is first copied into the thread's direct scratch.
   *
   * <p>Why a separate output rather than in place: Conscrypt's native open copies an input that
   * overlaps its output into a freshly allocated native array before decrypting (a malloc, a
   * memcpy and a free per record), measured at 8-9% of the cost of opening a 16 or 64 KiB record
   * here; the thread's scratch is written once and read by the caller once.
   *
   * @throws javax.crypto.AEADBadTagException if authentication fails
   */
  @Nullable
  ByteBuffer openToScratch(byte[] rawKey, byte[] nonce, @Nullable byte[] aad, ByteBuffer record)
      throws GeneralSecurityException {
    int inBytes = record.remaining();
    if (!nativeGcm || inBytes > MAX_SCRATCH_BYTES) {
      return null;
    }
    if (inBytes < TAG_BYTES) {
      throw new GeneralSecurityException("ciphertext shorter than the GCM tag");
    }
    Worker worker = worker();
    ByteBuffer in = record;
    if (!record.isDirect()) {
      in = worker.directScratch(inBytes);
      in.put(record).flip();
    }
    ByteBuffer plaintext = worker.plaintextScratch(inBytes);
    ConscryptNativeGcm.open(rawKey, nonce, aad, in, plaintext);
    record.position(record.limit());
    return plaintext.flip();
  }

  /**
   * Conscrypt without the {@link Cipher} ({@link ConscryptNativeGcm}): direct buffers go as they
   * are; a heap one is copied through this thread's direct scratch (the caller checked that the
   * record fits it), sealed or opened there in place, and copied back.
   */
  private void nativeCrypt(boolean seal, byte[] rawKey, byte[] nonce, @Nullable byte[] aad,
      ByteBuffer in, ByteBuffer out) throws GeneralSecurityException {
    if (in.isDirect() && out.isDirect()) {
      if (seal) {
        ConscryptNativeGcm.seal(rawKey, nonce, aad, in, out);
      } else {
        ConscryptNativeGcm.open(rawKey, nonce, aad, in, out);
      }
      return;
    }
    int inBytes = in.remaining();
    ByteBuffer scratch = worker().directScratch(inBytes + TAG_BYTES);
    scratch.put(in).flip();
    ByteBuffer scratchOut = worker().directScratchView();
    if (seal) {
      ConscryptNativeGcm.seal(rawKey, nonce, aad, scratch, scratchOut);
    } else {
      ConscryptNativeGcm.open(rawKey, nonce, aad, scratch, scratchOut);
    }
    out.put(scratchOut.flip());
  }

  private void crypt(Worker worker, ByteBuffer in, ByteBuffer out)
      throws GeneralSecurityException {
    Cipher cipher = worker.cipher(provider);
    int inBytes = in.remaining();
    boolean direct = provider == GcmProvider.CONSCRYPT;
    if (!direct && in.hasArray() && out.hasArray()) {
      int written = cipher.doFinal(in.array(), in.arrayOffset() + in.position(), inBytes,
          out.array(), out.arrayOffset() + out.position());
      in.position(in.limit());
      out.position(out.position() + written);
    } else if ((direct && in.isDirect() && out.isDirect())
        || inBytes + TAG_BYTES > MAX_SCRATCH_BYTES) {
      cipher.doFinal(in, out);
    } else if (direct) {
      ByteBuffer scratch = worker.directScratch(inBytes + TAG_BYTES);
      scratch.put(in).flip();
      ByteBuffer scratchOut = scratch.duplicate().clear();
      cipher.doFinal(scratch, scratchOut);
      out.put(scratchOut.flip());
    } else {
      byte[] scratch = worker.scratch(inBytes + TAG_BYTES);
      in.get(scratch, 0, inBytes);
      int written = cipher.doFinal(scratch, 0, inBytes, scratch, 0);
      out.put(scratch, 0, written);
    }
  }

  /**
   * For tests: drops this thread's cipher. Providers refuse to encrypt twice in a row under the
   * same key and nonce, which published vectors that share both would otherwise trip.
   */
  void forgetThreadStateForTesting() {
    workers.remove();
  }

  private Worker worker() throws GeneralSecurityException {
    Worker worker = workers.get();
    if (worker == null) {
      worker = new Worker();
      workers.set(worker);
    }
    return worker;
  }

  /** One thread's cipher (none when the native calls are used) and scratch space. */
  private static final class Worker {
    /** Made on first use: a thread using the native calls only never needs one. */
    @Nullable private Cipher cipher;
    byte[] scratch = new byte[0];
    ByteBuffer directScratch = ByteBuffer.allocateDirect(0);
    /** A second view of {@link #directScratch}, for output: one object per scratch, not per call. */
    ByteBuffer directScratchView = directScratch.duplicate();
    /**
     * Where {@link #openToScratch} writes plaintext: a buffer of its own, as the record being
     * opened may sit in {@link #directScratch}. Grows like it, up to {@link #MAX_SCRATCH_BYTES}.
     */
    ByteBuffer plaintextScratch = ByteBuffer.allocateDirect(0);

    Cipher cipher(GcmProvider provider) throws GeneralSecurityException {
      if (cipher == null) {
        cipher = provider.newCipher();
      }
      return cipher;
    }

    /** {@link #directScratch}'s output view, cleared. */
    ByteBuffer directScratchView() {
      return directScratchView.clear();
    }

    byte[] scratch(int bytes) {
      if (scratch.length < bytes) {
        scratch = new byte[roundUp(bytes)];
      }
      return scratch;
    }

    ByteBuffer directScratch(int bytes) {
      if (directScratch.capacity() < bytes) {
        directScratch = ByteBuffer.allocateDirect(roundUp(bytes));
        directScratchView = directScratch.duplicate();
      }
      return directScratch.clear();
    }

    /** {@link #plaintextScratch} with room for {@code bytes}, cleared. */
    ByteBuffer plaintextScratch(int bytes) {
      if (plaintextScratch.capacity() < bytes) {
        plaintextScratch = ByteBuffer.allocateDirect(roundUp(bytes));
      }
      return plaintextScratch.clear();
    }

    /** Rounds up to a KiB so records of similar size do not regrow the array one by one. */
    private static int roundUp(int bytes) {
      return Math.min(MAX_SCRATCH_BYTES, (bytes + 1023) & ~1023);
    }
  }
}
