package dev.grpclean.transport.frame;

import java.nio.ByteBuffer;

/**
 * Joins the fragments of one header block (a HEADERS frame without END_HEADERS plus its
 * CONTINUATION frames, RFC 9113 §6.10) into one heap array.
 *
 * <p>The array grows geometrically (x2) rather than to the cap up front, so memory held is at
 * most about twice the bytes actually received, and never past {@code maxBlockBytes}: a peer that
 * streams CONTINUATION frames forever (the "CONTINUATION flood", VU#421644) is stopped the moment
 * its block crosses the cap, not after buffering it. Empty CONTINUATION frames do not grow the
 * block, so they are counted instead: more than {@link #MAX_EMPTY_FRAGMENTS} in one block end the
 * connection too.
 *
 * <p>Thread-compatible; owned by one {@link FrameReader}.
 */
final class HeaderBlockAssembler {
  /** Empty CONTINUATION frames one block may contain; a real encoder never sends more than one. */
  static final int MAX_EMPTY_FRAGMENTS = 10;

  private final int maxBlockBytes;
  private int emptyFragments;
  private byte[] block;
  private int length;
  private int streamId;
  private boolean endStream;
  private boolean active;

  HeaderBlockAssembler(int maxBlockBytes) {
    if (maxBlockBytes < 0) {
      throw new IllegalArgumentException("maxBlockBytes < 0: " + maxBlockBytes);
    }
    this.maxBlockBytes = maxBlockBytes;
  }

  /** Whether a HEADERS frame without END_HEADERS is waiting for its CONTINUATION frames. */
  boolean isActive() {
    return active;
  }

  int streamId() {
    return streamId;
  }

  boolean endStream() {
    return endStream;
  }

  /** Bytes of the block assembled so far. */
  int blockLength() {
    return length;
  }

  int maxBlockBytes() {
    return maxBlockBytes;
  }

  /** Bytes of heap held: the array's capacity. */
  int heldBytes() {
    return block == null ? 0 : block.length;
  }

  /**
   * Throws ENHANCE_YOUR_CALM if a block of {@code blockBytes} would pass the cap. Called with the
   * length from a CONTINUATION frame header, before its payload is buffered.
   */
  void checkCap(long blockBytes) throws Http2ConnectionError {
    if (blockBytes > maxBlockBytes) {
      // RFC 9113 §10.5.1: an endpoint may refuse to process header blocks that are too large;
      // buffering them would let a peer pin unbounded memory, so this ends the connection.
      throw new Http2ConnectionError(
          ErrorCode.ENHANCE_YOUR_CALM,
          "header block of at least " + blockBytes + " bytes exceeds the limit of "
              + maxBlockBytes + " bytes (maxHeaderBlockBytes)");
    }
  }

  /** Starts a block with the fragment of a HEADERS frame that lacks END_HEADERS. */
  void start(int streamId, boolean endStream, ByteBuffer fragment) throws Http2ConnectionError {
    checkCap(fragment.remaining());
    this.streamId = streamId;
    this.endStream = endStream;
    this.active = true;
    this.emptyFragments = 0;
    this.length = 0;
    append(fragment);
  }

  /** Appends a CONTINUATION fragment. */
  void append(ByteBuffer fragment) throws Http2ConnectionError {
    int n = fragment.remaining();
    if (n == 0 && active && ++emptyFragments > MAX_EMPTY_FRAGMENTS) {
      throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "more than "
          + MAX_EMPTY_FRAGMENTS + " empty CONTINUATION frames in one header block");
    }
    checkCap((long) length + n);
    int needed = length + n;
    if (block == null || needed > block.length) {
      // First fragment: exact size (most blocks never see a CONTINUATION). Later: x2, so
      // copying stays linear in the block size however small the fragments are.
      int doubled = block == null ? needed : (int) Math.min((long) block.length * 2, maxBlockBytes);
      int capacity = Math.max(doubled, needed);
      byte[] grown = new byte[capacity];
      if (block != null) {
        System.arraycopy(block, 0, grown, 0, length);
      }
      block = grown;
    }
    fragment.duplicate().get(block, length, n);
    length = needed;
  }

  /** A view of the complete block, valid until {@link #reset}. */
  ByteBuffer view() {
    return block == null ? ByteBuffer.allocate(0) : ByteBuffer.wrap(block, 0, length);
  }

  /** Drops the array, so an idle connection holds none. */
  void reset() {
    block = null;
    length = 0;
    emptyFragments = 0;
    active = false;
    streamId = 0;
    endStream = false;
  }
}
