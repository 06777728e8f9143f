package dev.grpclean.transport.frame;

import static java.util.Objects.requireNonNull;

import dev.grpclean.transport.pool.BufferPool;
import java.nio.ByteBuffer;
import javax.annotation.Nullable;

/**
 * Incremental HTTP/2 frame parser for one connection (RFC 9113 §4).
 *
 * <p>{@link #read} takes whatever bytes one socket read produced, in a buffer that returns to its
 * pool right after. Frames that lie whole in that buffer are dispatched in place, with no copy.
 * Only an incomplete tail survives the call, and it is held as tightly as is cheap:
 * <ul>
 *   <li>fewer than 9 bytes (a partial frame header): a 9-byte array;
 *   <li>a known header and part of its payload: a payload array that grows x2 up to exactly the
 *       payload length, so it holds at most about twice the pending bytes, and copying stays
 *       linear even when bytes arrive one at a time;
 *   <li>an unknown frame type: nothing, its payload is counted off unbuffered (§4.1).
 * </ul>
 * Every array is dropped the moment its frame completes, so an idle connection holds none and
 * {@link #pendingBytes} is 0.
 *
 * <p>Under load nearly every socket read ends inside a frame (a 64 KiB read holds 3.99 frames of
 * 16 KiB + 9), so the payload stash is the read path's largest garbage source if it is a fresh
 * array each time. Given a stash pool, a stash is a lease from it whenever a pool class (a power
 * of two from 4 KiB) holds what is pending within twice its bytes, returned the moment its frame
 * is dispatched, the reader fails or is released: the bound above still holds, and only pieces
 * under 2 KiB are arrays. Such a stash counts as leased while its frame is incomplete (the same
 * bytes an array held before, now visible in the pool's counters); a connection between frames
 * holds none.
 *
 * <p>A whole DATA frame in the input is dispatched as the input itself, narrowed to the payload
 * and restored after: no slice, no object per frame. The one other buffer is the header block assembled from HEADERS and
 * CONTINUATION frames (see {@link HeaderBlockAssembler}), capped at {@code maxHeaderBlockBytes}.
 *
 * <p>Header-only checks (frame size, first frame, header block contiguity, stream ids, fixed
 * lengths) run before a payload is buffered; see {@link FrameChecks}. After {@code read} throws,
 * the reader is dead: every later call throws an error with the same code.
 *
 * <p>Thread-compatible: confined to the thread that currently reads the connection.
 */
public final class FrameReader {
  private static final byte[] PREFACE = FrameType.CONNECTION_PREFACE;
  /** Bytes; the smallest payload stash, so byte-at-a-time arrivals don't start at 1, 2, 4... */
  private static final int MIN_STASH_BYTES = 16;

  private final HeaderBlockAssembler assembler;
  private final FrameDispatcher dispatcher;
  private int maxFrameSize;
  /** Frames read by type, or null when nobody counts; see {@link #countFramesInto}. */
  private long[] framesByType;
  /** Bytes of the client preface matched so far; starts at the end when none is expected. */
  private int prefaceMatched;
  /** RFC 9113 §3.4: true until the peer's first frame, which must be SETTINGS, has arrived. */
  private boolean expectingFirstSettings = true;

  // The frame in progress, once its 9-byte header is known.
  private boolean headerKnown;
  private int length;
  private int type;
  private int flags;
  private int streamId;
  /** Payload bytes of an unknown-type frame still to discard; -1 when not skipping. */
  private int skipRemaining = -1;

  private byte[] headerStash;
  private int headerStashLength;
  private byte[] payloadStash;
  private int payloadStashLength;
  /** Non-null when {@link #payloadStash} is the array of a lease from {@link #stashPool}. */
  @Nullable private ByteBuffer payloadLease;
  /** Null: every stash is a plain array. */
  @Nullable private final BufferPool stashPool;

  private Http2ConnectionError failure;

  /**
   * @param expectClientPreface true on the server: the peer must start with the 24-byte client
   *     preface (§3.4)
   * @param maxFrameSizeBytes the largest frame payload accepted: 16384 until our SETTINGS with a
   *     larger SETTINGS_MAX_FRAME_SIZE is acknowledged (§4.2)
   * @param maxHeaderBlockBytes the largest HPACK-encoded header block assembled
   */
  public FrameReader(FrameListener listener, boolean expectClientPreface, int maxFrameSizeBytes,
      int maxHeaderBlockBytes) {
    this(listener, expectClientPreface, maxFrameSizeBytes, maxHeaderBlockBytes, null);
  }

  /**
   * As above, with payload stashes of a pool class size leased from {@code stashPool} (a heap
   * pool; null for plain arrays). The reader releases every such lease itself: when its frame is
   * dispatched, when the reader fails, and in {@link #release()}.
   */
  public FrameReader(FrameListener listener, boolean expectClientPreface, int maxFrameSizeBytes,
      int maxHeaderBlockBytes, @Nullable BufferPool stashPool) {
    requireNonNull(listener, "listener");
    if (stashPool != null && stashPool.isDirect()) {
      throw new IllegalArgumentException("the stash pool must be a heap pool");
    }
    this.stashPool = stashPool;
    checkFrameSize(maxFrameSizeBytes);
    if (maxHeaderBlockBytes <= 0) {
      throw new IllegalArgumentException("maxHeaderBlockBytes must be positive");
    }
    this.assembler = new HeaderBlockAssembler(maxHeaderBlockBytes);
    this.dispatcher = new FrameDispatcher(listener, assembler, expectClientPreface);
    this.maxFrameSize = maxFrameSizeBytes;
    this.prefaceMatched = expectClientPreface ? 0 : PREFACE.length;
  }

  /**
   * Counts every frame of a known type (DATA to CONTINUATION) into {@code byType[type]} once its
   * header passed the checks: the connection's counters, written on the reading thread.
   */
  public void countFramesInto(long[] byType) {
    if (byType.length <= FrameType.CONTINUATION) {
      throw new IllegalArgumentException("need a slot per frame type, got " + byType.length);
    }
    framesByType = byType;
  }

  /**
   * Whether the reader sits between frames past the handshake: preface and first SETTINGS read, no
   * partial frame, no header block being assembled, not failed. A fresh reader given {@link
   * #resumeBetweenFrames} would then read the next bytes exactly alike, so an idle connection may
   * drop this one and build another when bytes arrive.
   */
  public boolean isBetweenFrames() {
    return failure == null && !headerKnown && headerStashLength == 0 && skipRemaining < 0
        && payloadStash == null && !assembler.isActive() && prefaceMatched == PREFACE.length
        && !expectingFirstSettings;
  }

  /** Puts a fresh reader where a dropped one {@link #isBetweenFrames was}: past the handshake. */
  public void resumeBetweenFrames() {
    prefaceMatched = PREFACE.length;
    expectingFirstSettings = false;
  }

  /** Sets the largest payload accepted: what we advertised and the peer acknowledged. */
  public void setMaxFrameSize(int bytes) {
    checkFrameSize(bytes);
    maxFrameSize = bytes;
  }

  /**
   * Consumes all remaining bytes of {@code in}, dispatching every complete frame in order and
   * keeping an incomplete tail. Borrows {@code in} for the duration of the call only.
   *
   * @throws Http2ConnectionError on a connection error; the reader is then dead
   */
  public void read(ByteBuffer in) throws Http2ConnectionError {
    if (failure != null) {
      throw new Http2ConnectionError(
          failure.code(), "frame reader already failed: " + failure.getMessage(), failure);
    }
    try {
      while (matchPreface(in) && readHeader(in) && readPayload(in)) {
        // Each step returns false only once `in` is exhausted.
      }
    } catch (Http2ConnectionError e) {
      fail(e);
      throw e;
    } catch (RuntimeException | Error e) {
      fail(new Http2ConnectionError(ErrorCode.INTERNAL_ERROR, "frame listener failed", e));
      throw e;
    }
  }

  /** Bytes of heap held between reads: stash arrays plus the partial header block's array. */
  public int pendingBytes() {
    return (headerStash == null ? 0 : headerStash.length)
        + (payloadStash == null ? 0 : payloadStash.length)
        + assembler.heldBytes();
  }

  /** Drops all held arrays; the connection is closed and later reads fail. */
  public void release() {
    dropStashes();
    if (failure == null) {
      failure = new Http2ConnectionError(ErrorCode.INTERNAL_ERROR, "frame reader released");
    }
  }

  private boolean matchPreface(ByteBuffer in) throws Http2ConnectionError {
    while (prefaceMatched < PREFACE.length && in.hasRemaining()) {
      int pos = in.position();
      if (in.get(pos) != PREFACE[prefaceMatched]) {
        // RFC 9113 §3.4: fail on the first wrong byte rather than waiting for 24 of them.
        throw Preface.mismatch(in, prefaceMatched);
      }
      in.position(pos + 1);
      prefaceMatched++;
    }
    return prefaceMatched == PREFACE.length;
  }

  private boolean readHeader(ByteBuffer in) throws Http2ConnectionError {
    if (headerKnown) {
      return true;
    }
    if (!in.hasRemaining()) {
      return false;
    }
    if (headerStash == null && in.remaining() >= FrameType.FRAME_HEADER_BYTES) {
      int pos = in.position();
      parseHeader(in, pos);
      in.position(pos + FrameType.FRAME_HEADER_BYTES);
    } else {
      if (headerStash == null) {
        headerStash = new byte[FrameType.FRAME_HEADER_BYTES];
      }
      int n = Math.min(FrameType.FRAME_HEADER_BYTES - headerStashLength, in.remaining());
      in.get(headerStash, headerStashLength, n);
      headerStashLength += n;
      if (headerStashLength < FrameType.FRAME_HEADER_BYTES) {
        return false;
      }
      parseHeader(ByteBuffer.wrap(headerStash), 0);
      headerStash = null;
      headerStashLength = 0;
    }
    FrameChecks.checkHeader(type, flags, streamId, length, maxFrameSize,
        expectingFirstSettings, assembler);
    expectingFirstSettings = false;
    headerKnown = true;
    // RFC 9113 §4.1, §5.5: frames of unknown type are ignored and discarded.
    skipRemaining = type > FrameType.CONTINUATION ? length : -1;
    if (skipRemaining < 0 && framesByType != null) {
      framesByType[type]++;
    }
    return true;
  }

  /** Reads the 9-byte header at {@code index} byte by byte, whatever the buffer's byte order. */
  private void parseHeader(ByteBuffer b, int index) {
    length = (b.get(index) & 0xFF) << 16 | (b.get(index + 1) & 0xFF) << 8
        | (b.get(index + 2) & 0xFF);
    type = b.get(index + 3) & 0xFF;
    flags = b.get(index + 4) & 0xFF;
    // RFC 9113 §4.1: the reserved bit MUST be ignored.
    streamId = ((b.get(index + 5) & 0x7F) << 24 | (b.get(index + 6) & 0xFF) << 16
        | (b.get(index + 7) & 0xFF) << 8 | (b.get(index + 8) & 0xFF));
  }

  private boolean readPayload(ByteBuffer in) throws Http2ConnectionError {
    if (skipRemaining >= 0) {
      int n = Math.min(skipRemaining, in.remaining());
      in.position(in.position() + n);
      skipRemaining -= n;
      if (skipRemaining > 0) {
        return false;
      }
      endFrame();
      return true;
    }
    ByteBuffer payload;
    if (payloadStash == null && in.remaining() >= length) {
      int pos = in.position();
      in.position(pos + length);
      if (type == FrameType.DATA) {
        // In place: the borrowed input itself, narrowed to the payload for the dispatch and
        // restored after, so a DATA frame costs no object at all.
        int frameFlags = flags;
        int frameStreamId = streamId;
        endFrame();
        int inputLimit = in.limit();
        in.limit(pos + length).position(pos);
        try {
          dispatcher.dispatchData(frameFlags, frameStreamId, in);
        } finally {
          in.limit(inputLimit).position(pos + length);
        }
        return true;
      }
      payload = in.slice(pos, length); // in place: no copy
    } else {
      int n = Math.min(length - payloadStashLength, in.remaining());
      ensurePayloadStash(payloadStashLength + n);
      in.get(payloadStash, payloadStashLength, n);
      payloadStashLength += n;
      if (payloadStashLength < length) {
        return false;
      }
      // A stash lease is the payload itself (its array is the stash): no wrapper per frame.
      payload = payloadLease != null
          ? payloadLease.clear().limit(length)
          : ByteBuffer.wrap(payloadStash, 0, length);
      payloadStash = null; // the frame is complete: hold nothing once it is dispatched
      payloadStashLength = 0;
    }
    int frameType = type;
    int frameFlags = flags;
    int frameStreamId = streamId;
    endFrame();
    // The payload borrows the stash lease (if any) for the dispatch only.
    ByteBuffer lease = payloadLease;
    payloadLease = null;
    try {
      dispatcher.dispatch(frameType, frameFlags, frameStreamId, payload);
    } finally {
      if (lease != null) {
        stashPool.release(lease);
      }
    }
    return true;
  }

  /** Grows the payload stash x2 (at least to {@code needed}), never past the payload length. */
  private void ensurePayloadStash(int needed) {
    if (payloadStash != null && needed <= payloadStash.length) {
      return;
    }
    int doubled = payloadStash == null ? MIN_STASH_BYTES : payloadStash.length * 2;
    int size = Math.min(length, Math.max(doubled, needed));
    ByteBuffer lease = null;
    byte[] grown;
    // A pool class instead, whenever one holds what is pending within twice its bytes: the
    // lease comes back at dispatch instead of becoming garbage. The class above size if that is
    // within 2x pending, else the one below (size < 2x pending, since what was held < pending).
    int classSize = Math.max(BufferPool.MIN_CLASS_BYTES, Integer.highestOneBit(size - 1) << 1);
    if (classSize > 2L * needed) {
      classSize >>>= 1;
    }
    if (stashPool != null && classSize >= needed && classSize >= BufferPool.MIN_CLASS_BYTES
        && classSize <= BufferPool.MAX_CLASS_BYTES) {
      lease = stashPool.lease(classSize);
      grown = lease.array();
    } else {
      grown = new byte[size];
    }
    if (payloadStash != null) {
      System.arraycopy(payloadStash, 0, grown, 0, payloadStashLength);
    }
    releaseStashLease();
    payloadStash = grown;
    payloadLease = lease;
  }

  private void releaseStashLease() {
    if (payloadLease != null) {
      ByteBuffer lease = payloadLease;
      payloadLease = null;
      stashPool.release(lease);
    }
  }

  private void endFrame() {
    headerKnown = false;
    skipRemaining = -1;
  }

  private void fail(Http2ConnectionError e) {
    failure = e;
    dropStashes();
  }

  private void dropStashes() {
    headerStash = null;
    headerStashLength = 0;
    payloadStash = null;
    payloadStashLength = 0;
    releaseStashLease();
    assembler.reset();
    endFrame();
  }

  private static void checkFrameSize(int bytes) {
    if (bytes < FrameType.DEFAULT_MAX_FRAME_SIZE || bytes > FrameType.MAX_ALLOWED_FRAME_SIZE) {
      throw new IllegalArgumentException("max frame size out of range (RFC 9113 §6.5.2): " + bytes);
    }
  }
}
