package dev.grpclean.alts.record;

import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
import dev.grpclean.transport.spi.RecordProtector;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import javax.annotation.Nullable;

/**
 * The ALTS record layer for one connection: seals outbound bytes into records and opens inbound
 * records in place.
 *
 * <p>A record is a 4-byte little-endian length (of everything after it), a 4-byte little-endian
 * type ({@value #RECORD_TYPE}), the ciphertext, and a 16-byte GCM tag: {@value #OVERHEAD_BYTES}
 * bytes of overhead. Nothing in a record names its counter: each side counts records in each
 * direction, so a replayed, dropped or reordered record fails authentication.
 *
 * <p>Memory: between calls this object holds keys, counters and, only while a record is split
 * across reads, that record's bytes so far in at most twice their size. Under load nearly every
 * socket read ends inside a record, so that stash is a heap-pool lease whenever a pool class (a
 * power of two from 4 KiB, the least record size) fits within twice what is pending, and goes
 * back when the record is opened, fails or the protector is released; smaller stashes are plain
 * arrays. An idle connection (no record in flight) therefore keeps a few hundred bytes here and
 * no lease.
 *
 * <p>After any failure (authentication, framing, exhausted counter) the protector refuses further
 * use: the connection must close.
 *
 * <p>Thread-compatible: confined to the connection's loop thread.
 */
public final class AltsRecordProtector implements RecordProtector {
  /** The record type ALTS uses for application data. */
  public static final int RECORD_TYPE = 6;
  /** The length field: 4 bytes, little-endian, counting type + ciphertext + tag. */
  static final int LENGTH_BYTES = 4;
  /** Length and type fields. */
  static final int HEADER_BYTES = 8;
  /** Header plus GCM tag. */
  public static final int OVERHEAD_BYTES = HEADER_BYTES + AesGcm.TAG_BYTES;
  /**
   * 4 KiB, whole record (length field included): what ALTS implementations send by default (4,072
   * payload bytes per record), so the least a peer may announce it accepts and the least this
   * side may be configured to send.
   */
  public static final int MIN_RECORD_BYTES = 4 << 10;
  /**
   * 16 KiB, whole record: what this side sends unless configured otherwise, capped by what the
   * peer announces it accepts (ALTS peers accept 1 MiB; a peer announcing 4 KiB gets 4 KiB).
   * Why not ALTS's 4 KiB: every record costs a cipher set-up whose allocation the JCE API does
   * not let us avoid (a {@code GCMParameterSpec} and a nonce copy per record; SunJCE builds GCM
   * engine objects per {@code init}, Conscrypt copies key and nonce), so 4x larger records cut
   * that garbage and CPU per MiB by 4x (DESIGN.md measured 16 KiB records 1.6-1.7x faster per
   * byte). An idle connection holds no record buffer either way; a record split across reads
   * pins at most 16 KiB more while it is completed.
   */
  public static final int DEFAULT_RECORD_BYTES = 16 << 10;
  /** 1 MiB, whole record: the largest record ALTS peers must accept (grpc-go, grpc-java). */
  public static final int DEFAULT_MAX_INBOUND_RECORD_BYTES = 1 << 20;
  /**
   * 16 MiB: the most any limit may be configured to, since one peer can make us hold a split
   * record of that size in heap.
   */
  public static final int MAX_RECORD_BYTES = 16 << 20;

  private final boolean client;
  private final RecordProtocol protocol;
  private final GcmProvider provider;
  private final int maxPayloadBytes;
  private final int maxInboundRecordBytes;
  @Nullable private RecordAead outbound;
  @Nullable private RecordAead inbound;
  private final RecordCounter outboundCounter;
  private final RecordCounter inboundCounter;

  /** Where split-record stashes are leased from; null: always plain arrays. */
  @Nullable private final BufferPool stashPool;
  /** Bytes of a split inbound record; null when none is pending. */
  @Nullable private byte[] pending;
  /** Non-null when {@link #pending} is the array of a lease from {@link #stashPool}. */
  @Nullable private ByteBuffer pendingLease;
  private int pendingBytes;
  /** The pending record's whole size, or -1 while its length field is incomplete. */
  private int pendingRecordBytes = -1;
  private boolean unusable;

  private AltsRecordProtector(RecordProtocol protocol, boolean client, byte[] outboundKey,
      byte[] inboundKey, int outboundRecordBytes, int maxInboundRecordBytes,
      GcmProvider provider, @Nullable BufferPool stashPool) {
    if (stashPool != null && stashPool.isDirect()) {
      throw new IllegalArgumentException("the stash pool must be a heap pool");
    }
    this.stashPool = stashPool;
    checkRecordBytes("outboundRecordBytes", outboundRecordBytes, OVERHEAD_BYTES + 1);
    checkRecordBytes("maxInboundRecordBytes", maxInboundRecordBytes, OVERHEAD_BYTES);
    if (!provider.available()) {
      throw new IllegalArgumentException(provider.description() + " is not available");
    }
    this.client = client;
    this.protocol = protocol;
    this.provider = provider;
    this.maxPayloadBytes = outboundRecordBytes - OVERHEAD_BYTES;
    this.maxInboundRecordBytes = maxInboundRecordBytes;
    this.outbound = RecordAead.create(protocol, outboundKey, provider);
    this.inbound = RecordAead.create(protocol, inboundKey, provider);
    this.outboundCounter = new RecordCounter(protocol, !client);
    this.inboundCounter = new RecordCounter(protocol, client);
  }

  /**
   * A protector using {@link GcmProvider#active()}.
   *
   * @param client true on the client side (its outbound counter has the direction bit clear)
   * @param outboundKey key material for records this side sends ({@link
   *     RecordProtocol#keyBytes()}); copied, the caller may wipe it
   * @param inboundKey key material for records this side receives; copied
   * @param outboundRecordBytes size of the records this side sends, whole record
   * @param maxInboundRecordBytes largest record this side accepts, whole record
   */
  public static AltsRecordProtector create(RecordProtocol protocol, boolean client,
      byte[] outboundKey, byte[] inboundKey, int outboundRecordBytes, int maxInboundRecordBytes) {
    return create(protocol, client, outboundKey, inboundKey, outboundRecordBytes,
        maxInboundRecordBytes, GcmProvider.active());
  }

  /**
   * As {@link #create(RecordProtocol, boolean, byte[], byte[], int, int)}, with a provider; split
   * records are stashed in the transport's heap pool ({@link Pools#heap()}).
   */
  public static AltsRecordProtector create(RecordProtocol protocol, boolean client,
      byte[] outboundKey, byte[] inboundKey, int outboundRecordBytes, int maxInboundRecordBytes,
      GcmProvider provider) {
    return create(protocol, client, outboundKey, inboundKey, outboundRecordBytes,
        maxInboundRecordBytes, provider, Pools.heap());
  }

  /** As above, with the pool split-record stashes come from (null: plain arrays). */
  public static AltsRecordProtector create(RecordProtocol protocol, boolean client,
      byte[] outboundKey, byte[] inboundKey, int outboundRecordBytes, int maxInboundRecordBytes,
      GcmProvider provider, @Nullable BufferPool stashPool) {
    return new AltsRecordProtector(protocol, client, outboundKey, inboundKey,
        outboundRecordBytes, maxInboundRecordBytes, provider, stashPool);
  }

  public RecordProtocol protocol() {
    return protocol;
  }

  public GcmProvider provider() {
    return provider;
  }

  /** Plaintext bytes per outbound record. */
  public int maxPayloadBytes() {
    return maxPayloadBytes;
  }

  @Override
  public int maxProtectedBytes(int plaintextBytes) {
    if (plaintextBytes <= 0) {
      return 0;
    }
    long records = (plaintextBytes + (long) maxPayloadBytes - 1) / maxPayloadBytes;
    long bytes = plaintextBytes + records * OVERHEAD_BYTES;
    if (bytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("sealing " + plaintextBytes + " bytes overflows an int");
    }
    return (int) bytes;
  }

  @Override
  public void protect(ByteBuffer plaintext, ByteBuffer out) throws GeneralSecurityException {
    checkUsable();
    int needed = maxProtectedBytes(plaintext.remaining());
    if (out.remaining() < needed) {
      throw new IllegalArgumentException(
          "out has " + out.remaining() + " bytes remaining, sealing needs " + needed);
    }
    int plaintextLimit = plaintext.limit();
    boolean done = false;
    try {
      while (plaintext.hasRemaining()) {
        int payloadBytes = Math.min(plaintext.remaining(), maxPayloadBytes);
        byte[] counter = outboundCounter.current();
        putIntLe(out, payloadBytes + AesGcm.TAG_BYTES + (HEADER_BYTES - LENGTH_BYTES));
        putIntLe(out, RECORD_TYPE);
        plaintext.limit(plaintext.position() + payloadBytes);
        outbound.seal(counter, null, plaintext, out);
        plaintext.limit(plaintextLimit);
        outboundCounter.advance();
      }
      done = true;
    } finally {
      plaintext.limit(plaintextLimit);
      if (!done) {
        fail();
      }
    }
  }

  @Override
  public void unprotect(ByteBuffer ciphertext, PlaintextSink sink) throws Exception {
    checkUsable();
    boolean done = false;
    try {
      if (pending == null || completePending(ciphertext, sink)) {
        openAll(ciphertext, sink);
      }
      done = true;
    } finally {
      if (!done) {
        fail();
      }
    }
  }

  @Override
  public int pendingBytes() {
    return pendingBytes;
  }

  /** Capacity of the array holding a split record; for the memory invariant's tests. */
  int pendingCapacityBytes() {
    return pending == null ? 0 : pending.length;
  }

  RecordCounter outboundCounter() {
    return outboundCounter;
  }

  RecordCounter inboundCounter() {
    return inboundCounter;
  }

  @Override
  public void release() {
    unusable = true;
    dropPending();
    outbound = null;
    inbound = null;
  }

  /**
   * Opens each complete record; keeps a trailing partial record. The cipher reads from {@code
   * ciphertext} itself, narrowed to the record. With Conscrypt's native calls it writes into the
   * loop thread's plaintext scratch ({@link RecordAead#openToScratch}), which goes to the sink:
   * no object and no copy beyond the decryption (opening in place would make the native side copy
   * the record first). Otherwise it opens in place, through one view made per call, and the
   * plaintext goes to the sink as {@code ciphertext} narrowed again. {@code ciphertext}'s bounds
   * are restored after each record.
   */
  private void openAll(ByteBuffer ciphertext, PlaintextSink sink) throws Exception {
    ByteBuffer out = null;
    int limit = ciphertext.limit();
    while (ciphertext.hasRemaining()) {
      int start = ciphertext.position();
      int available = ciphertext.remaining();
      if (available < LENGTH_BYTES) {
        stash(ciphertext, -1);
        return;
      }
      int recordBytes = checkLength(getIntLe(ciphertext, start));
      if (available >= HEADER_BYTES) {
        checkType(getIntLe(ciphertext, start + LENGTH_BYTES));
      }
      if (available < recordBytes) {
        stash(ciphertext, recordBytes);
        return;
      }
      int end = start + recordBytes;
      ciphertext.limit(end).position(start + HEADER_BYTES);
      try {
        ByteBuffer plaintext = openToScratch(ciphertext);
        if (plaintext != null) {
          if (plaintext.hasRemaining()) {
            sink.onPlaintext(plaintext);
          }
          continue;
        }
        int plaintextEnd;
        if (inbound.opensInPlace(ciphertext)) {
          plaintextEnd = start + HEADER_BYTES + openInPlace(ciphertext);
        } else {
          if (out == null) {
            out = ciphertext.duplicate();
          }
          out.limit(end).position(start + HEADER_BYTES);
          open(ciphertext, out);
          plaintextEnd = out.position();
        }
        if (plaintextEnd > start + HEADER_BYTES) {
          ciphertext.limit(plaintextEnd).position(start + HEADER_BYTES);
          sink.onPlaintext(ciphertext);
        }
      } finally {
        ciphertext.limit(limit).position(end);
      }
    }
  }

  /**
   * Adds bytes from {@code ciphertext} to the pending record and, once it is complete, opens it.
   *
   * @return true if the pending record completed (the rest of {@code ciphertext} holds records)
   */
  private boolean completePending(ByteBuffer ciphertext, PlaintextSink sink) throws Exception {
    if (pendingRecordBytes < 0) {
      append(ciphertext, Math.min(LENGTH_BYTES - pendingBytes, ciphertext.remaining()),
          pendingBytes + Math.min(LENGTH_BYTES - pendingBytes, ciphertext.remaining()));
      if (pendingBytes < LENGTH_BYTES) {
        return false;
      }
      pendingRecordBytes = checkLength(getIntLe(pending, 0));
    }
    int take = Math.min(pendingRecordBytes - pendingBytes, ciphertext.remaining());
    int total = pendingBytes + take;
    // Grow geometrically, never past the record or twice what is pending.
    append(ciphertext, take,
        total == pendingRecordBytes ? total : Math.min(pendingRecordBytes, 2 * total));
    if (pendingBytes >= HEADER_BYTES) {
      checkType(getIntLe(pending, LENGTH_BYTES));
    }
    if (pendingBytes < pendingRecordBytes) {
      return false;
    }
    byte[] record = pending;
    int recordBytes = pendingRecordBytes;
    // The stash lease (if any) stays ours until its plaintext has been handed on.
    ByteBuffer recordLease = pendingLease;
    pendingLease = null;
    dropPending();
    try {
      ByteBuffer in = ByteBuffer.wrap(record, HEADER_BYTES, recordBytes - HEADER_BYTES);
      ByteBuffer plaintext = openToScratch(in);
      if (plaintext != null) {
        if (plaintext.hasRemaining()) {
          sink.onPlaintext(plaintext);
        }
        return true;
      }
      ByteBuffer out = in.duplicate();
      open(in, out);
      out.flip().position(HEADER_BYTES);
      if (out.hasRemaining()) {
        sink.onPlaintext(out);
      }
    } finally {
      if (recordLease != null) {
        stashPool.release(recordLease);
      }
    }
    return true;
  }

  private void open(ByteBuffer in, ByteBuffer out) throws GeneralSecurityException {
    try {
      inbound.open(inboundCounter.current(), null, in, out);
    } catch (javax.crypto.AEADBadTagException e) {
      throw authenticationFailed(e);
    }
    inboundCounter.advance();
  }

  /**
   * Opens {@code record} into the thread's plaintext scratch ({@link RecordAead#openToScratch}),
   * returned; null (nothing consumed, the counter unchanged) where that path is not available.
   */
  @Nullable
  private ByteBuffer openToScratch(ByteBuffer record) throws GeneralSecurityException {
    ByteBuffer plaintext;
    try {
      plaintext = inbound.openToScratch(inboundCounter.current(), null, record);
    } catch (javax.crypto.AEADBadTagException e) {
      throw authenticationFailed(e);
    }
    if (plaintext != null) {
      inboundCounter.advance();
    }
    return plaintext;
  }

  /** Opens {@code record} in place where the AEAD can ({@link RecordAead#opensInPlace}). */
  private int openInPlace(ByteBuffer record) throws GeneralSecurityException {
    int plaintextBytes;
    try {
      plaintextBytes = inbound.openInPlace(inboundCounter.current(), null, record);
    } catch (javax.crypto.AEADBadTagException e) {
      throw authenticationFailed(e);
    }
    inboundCounter.advance();
    return plaintextBytes;
  }

  private GeneralSecurityException authenticationFailed(Exception e) {
    return new GeneralSecurityException("ALTS record " + Long.toUnsignedString(
        inboundCounter.value()) + " failed authentication: tampered, replayed, reordered or"
        + " sealed with another key", e);
  }

  /** Starts a pending record with the whole tail of {@code ciphertext}. */
  private void stash(ByteBuffer ciphertext, int recordBytes) {
    pendingRecordBytes = recordBytes;
    append(ciphertext, ciphertext.remaining(), ciphertext.remaining());
  }

  private void append(ByteBuffer src, int bytes, int capacityIfGrowing) {
    int total = pendingBytes + bytes;
    if (pending == null || pending.length < total) {
      grow(capacityIfGrowing, total);
    }
    src.get(pending, pendingBytes, bytes);
    pendingBytes = total;
  }

  /**
   * Moves the pending bytes to a stash of at least {@code capacity} bytes: a pool class when one
   * holds {@code pendingAfter} bytes within twice that, else an array of exactly
   * {@code capacity}.
   */
  private void grow(int capacity, int pendingAfter) {
    int classSize = Math.max(BufferPool.MIN_CLASS_BYTES,
        Integer.highestOneBit(Math.max(capacity, 2) - 1) << 1);
    if (classSize > 2L * pendingAfter) {
      classSize >>>= 1;
    }
    ByteBuffer lease = null;
    byte[] next;
    if (stashPool != null && classSize >= Math.max(pendingAfter, BufferPool.MIN_CLASS_BYTES)
        && classSize <= BufferPool.MAX_CLASS_BYTES) {
      lease = stashPool.lease(classSize);
      next = lease.array();
    } else {
      next = new byte[capacity];
    }
    if (pending != null) {
      System.arraycopy(pending, 0, next, 0, pendingBytes);
    }
    releasePendingLease();
    pending = next;
    pendingLease = lease;
  }

  private void releasePendingLease() {
    if (pendingLease != null) {
      ByteBuffer lease = pendingLease;
      pendingLease = null;
      stashPool.release(lease);
    }
  }

  private void dropPending() {
    releasePendingLease();
    pending = null;
    pendingBytes = 0;
    pendingRecordBytes = -1;
  }

  /** Validates a length field and returns the whole record's size. */
  private int checkLength(int lengthField) throws GeneralSecurityException {
    long recordBytes = (lengthField & 0xffffffffL) + LENGTH_BYTES;
    if (recordBytes < OVERHEAD_BYTES) {
      throw new GeneralSecurityException("ALTS record length " + Integer.toUnsignedString(
          lengthField) + " is shorter than a record's type and tag");
    }
    if (recordBytes > maxInboundRecordBytes) {
      throw new GeneralSecurityException("ALTS record of " + recordBytes
          + " bytes exceeds the limit of " + maxInboundRecordBytes + " bytes");
    }
    return (int) recordBytes;
  }

  private static void checkType(int type) throws GeneralSecurityException {
    if (type != RECORD_TYPE) {
      throw new GeneralSecurityException(
          "unexpected ALTS record type " + Integer.toUnsignedString(type) + ", expected "
              + RECORD_TYPE);
    }
  }

  private void checkUsable() {
    if (unusable) {
      throw new IllegalStateException("record protector failed or released");
    }
  }

  private void fail() {
    unusable = true;
    dropPending();
  }

  private static void checkRecordBytes(String name, int value, int min) {
    if (value < min || value > MAX_RECORD_BYTES) {
      throw new IllegalArgumentException(
          name + " must be in [" + min + ", " + MAX_RECORD_BYTES + "], not " + value);
    }
  }

  private static int getIntLe(ByteBuffer buffer, int index) {
    return (buffer.get(index) & 0xff)
        | (buffer.get(index + 1) & 0xff) << 8
        | (buffer.get(index + 2) & 0xff) << 16
        | (buffer.get(index + 3) & 0xff) << 24;
  }

  private static int getIntLe(byte[] bytes, int index) {
    return (bytes[index] & 0xff)
        | (bytes[index + 1] & 0xff) << 8
        | (bytes[index + 2] & 0xff) << 16
        | (bytes[index + 3] & 0xff) << 24;
  }

  private static void putIntLe(ByteBuffer buffer, int value) {
    buffer.put((byte) value).put((byte) (value >>> 8)).put((byte) (value >>> 16))
        .put((byte) (value >>> 24));
  }

  @Override
  public String toString() {
    return "AltsRecordProtector{" + protocol + ", " + (client ? "client" : "server") + ", "
        + provider.description() + ", pending=" + pendingBytes + "}";
  }
}
