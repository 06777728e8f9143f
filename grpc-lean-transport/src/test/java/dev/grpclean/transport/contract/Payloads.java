package dev.grpclean.transport.contract;

import java.nio.ByteBuffer;
import java.util.Random;

/**
 * Builds and checks the suite's messages. A numbered message carries its sequence number in its
 * first four bytes (big-endian) and a filler derived from it, so a receiver can check both order
 * and content without keeping what was sent.
 *
 * <p>Thread-safe (stateless).
 */
public final class Payloads {
  /** The smallest numbered message: the four-byte sequence number alone. */
  public static final int MIN_NUMBERED_BYTES = 4;

  private Payloads() {}

  /** Returns {@code size} pseudo-random bytes, the same for the same seed. */
  public static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  /** Returns message number {@code sequence}, {@code size} bytes long. */
  public static byte[] numbered(int sequence, int size) {
    if (size < MIN_NUMBERED_BYTES) {
      throw new IllegalArgumentException("size " + size + " < " + MIN_NUMBERED_BYTES);
    }
    byte[] bytes = new byte[size];
    ByteBuffer.wrap(bytes).putInt(sequence);
    for (int i = MIN_NUMBERED_BYTES; i < size; i++) {
      bytes[i] = filler(sequence, i);
    }
    return bytes;
  }

  /**
   * Returns the sequence number of a message built by {@link #numbered}.
   *
   * @throws AssertionError if its filler is not the one {@link #numbered} wrote
   */
  public static int sequenceOf(byte[] message) {
    if (message.length < MIN_NUMBERED_BYTES) {
      throw new AssertionError("message of " + message.length + " bytes has no sequence number");
    }
    int sequence = ByteBuffer.wrap(message).getInt();
    for (int i = MIN_NUMBERED_BYTES; i < message.length; i++) {
      if (message[i] != filler(sequence, i)) {
        throw new AssertionError("message " + sequence + " corrupt at byte " + i);
      }
    }
    return sequence;
  }

  /** Asks the echo service's server-streaming method for {@code count} messages of {@code size}. */
  public static byte[] streamRequest(int count, int size) {
    return ByteBuffer.allocate(8).putInt(count).putInt(size).array();
  }

  /** Returns the client-streaming summary: messages received and their total bytes. */
  public static byte[] summary(int messages, long bytes) {
    return ByteBuffer.allocate(12).putInt(messages).putLong(bytes).array();
  }

  public static int summaryMessages(byte[] summary) {
    return ByteBuffer.wrap(summary).getInt(0);
  }

  public static long summaryBytes(byte[] summary) {
    return ByteBuffer.wrap(summary).getLong(4);
  }

  private static byte filler(int sequence, int index) {
    return (byte) (sequence * 31 + index);
  }
}
