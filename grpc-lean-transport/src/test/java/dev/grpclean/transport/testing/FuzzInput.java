package dev.grpclean.transport.testing;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The input layout every fuzz target of the project shares: byte 0 the target's options, byte 1
 * the number of split points (taken modulo {@link #MAX_SPLITS} + 1), two bytes per split point
 * (big-endian, taken modulo the length of the stream they split), then the payload. A short input
 * reads as zeros where bytes are missing, so every byte string is a valid input.
 *
 * <p>{@link #encode} writes the layout, for the seeds a corpus writer commits.
 *
 * <p>Immutable; thread-safe.
 */
public final class FuzzInput {
  /** The most split points an input can ask for. */
  public static final int MAX_SPLITS = 15;

  private final byte[] input;
  private final int options;
  private final int splits;
  private final byte[] payload;

  private FuzzInput(byte[] input) {
    this.input = input;
    this.options = input.length > 0 ? input[0] & 0xff : 0;
    this.splits = input.length > 1 ? (input[1] & 0xff) % (MAX_SPLITS + 1) : 0;
    int payloadStart = Math.min(input.length, 2 + 2 * splits);
    this.payload = Arrays.copyOfRange(input, payloadStart, input.length);
  }

  /** Reads {@code input} (not copied: the caller does not change it afterwards). */
  public static FuzzInput of(byte[] input) {
    return new FuzzInput(input);
  }

  /** Byte 0: the target's option bits; 0 for an empty input. */
  public int options() {
    return options;
  }

  /** The bytes after the split points: what the target feeds (a fresh copy). */
  public byte[] payload() {
    return payload.clone();
  }

  /**
   * Sorted, distinct cut offsets strictly inside a stream of {@code streamBytes} (the payload, or
   * the payload with a prefix the target adds): each split point {@code raw} cuts at
   * {@code 1 + raw % (streamBytes - 1)}. None for a stream shorter than 2 bytes, and none for a
   * split point the input ends before.
   */
  public int[] cuts(int streamBytes) {
    if (streamBytes < 2) {
      return new int[0];
    }
    int[] cuts = new int[splits];
    int n = 0;
    for (int i = 0; i < splits && 3 + 2 * i < input.length; i++) {
      int raw = (input[2 + 2 * i] & 0xff) << 8 | (input[3 + 2 * i] & 0xff);
      cuts[n++] = 1 + raw % (streamBytes - 1);
    }
    return Arrays.stream(cuts, 0, n).sorted().distinct().toArray();
  }

  /** {@link #cuts} followed by {@code streamBytes}: where each piece of the stream ends. */
  public int[] pieceEnds(int streamBytes) {
    int[] cuts = cuts(streamBytes);
    int[] ends = Arrays.copyOf(cuts, cuts.length + 1);
    ends[cuts.length] = streamBytes;
    return ends;
  }

  /** {@code stream} cut at {@link #cuts}; no piece is empty (none at all for an empty stream). */
  public List<byte[]> pieces(byte[] stream) {
    List<byte[]> pieces = new ArrayList<>();
    int from = 0;
    for (int cut : cuts(stream.length)) {
      pieces.add(Arrays.copyOfRange(stream, from, cut));
      from = cut;
    }
    if (from < stream.length) {
      pieces.add(Arrays.copyOfRange(stream, from, stream.length));
    }
    return pieces;
  }

  /**
   * An input in this layout: {@code options}, then each cut as the split point that lands on it
   * in a stream longer than the cut ({@code cut - 1}, since a target cuts at
   * {@code 1 + raw % (length - 1)}), then {@code payload} back to back.
   */
  public static byte[] encode(int options, int[] cuts, byte[]... payload) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    all.write(options);
    all.write(cuts.length);
    for (int cut : cuts) {
      all.write((cut - 1) >>> 8);
      all.write(cut - 1);
    }
    for (byte[] p : payload) {
      all.writeBytes(p);
    }
    return all.toByteArray();
  }
}
