package dev.grpclean.transport.frame;

/**
 * The six settings of RFC 9113 §6.5.2. Only those present in a SETTINGS frame (or explicitly
 * {@link #set}) are "set"; the typed getters fall back to a caller-supplied default for the rest.
 * Values are unsigned 32-bit numbers held in a {@code long}.
 *
 * <p>Mutable value; thread-compatible.
 */
public final class Settings {
  public static final int HEADER_TABLE_SIZE = 1;
  public static final int ENABLE_PUSH = 2;
  public static final int MAX_CONCURRENT_STREAMS = 3;
  public static final int INITIAL_WINDOW_SIZE = 4;
  public static final int MAX_FRAME_SIZE = 5;
  public static final int MAX_HEADER_LIST_SIZE = 6;

  /** The largest known setting id; ids are dense from 1. */
  static final int MAX_ID = MAX_HEADER_LIST_SIZE;
  /** Setting values are 32-bit unsigned on the wire (§6.5.1). */
  private static final long MAX_VALUE = 0xFFFF_FFFFL;
  private static final String[] NAMES = {
    "?", "HEADER_TABLE_SIZE", "ENABLE_PUSH", "MAX_CONCURRENT_STREAMS", "INITIAL_WINDOW_SIZE",
    "MAX_FRAME_SIZE", "MAX_HEADER_LIST_SIZE"
  };

  /** Indexed by id; index 0 is unused so ids need no offset. */
  private final long[] values = new long[MAX_ID + 1];
  /** Bit {@code id} is set when setting {@code id} is present. */
  private int setMask;

  /** Whether {@code id} is a setting this class knows (1..6). */
  public static boolean isKnown(int id) {
    return id >= 1 && id <= MAX_ID;
  }

  public boolean isSet(int id) {
    return isKnown(id) && (setMask & (1 << id)) != 0;
  }

  /**
   * Returns the value of a set setting.
   *
   * @throws IllegalStateException if {@code id} is not set
   */
  public long get(int id) {
    if (!isSet(id)) {
      throw new IllegalStateException("setting " + id + " is not set");
    }
    return values[id];
  }

  /**
   * Sets {@code id} to {@code value}; range checks beyond 32 bits are the reader's job (§6.5.2).
   *
   * @throws IllegalArgumentException if {@code id} is unknown or {@code value} is not a uint32
   */
  public Settings set(int id, long value) {
    if (!isKnown(id)) {
      throw new IllegalArgumentException("unknown setting id " + id);
    }
    if (value < 0 || value > MAX_VALUE) {
      throw new IllegalArgumentException("setting " + id + " value out of uint32 range: " + value);
    }
    values[id] = value;
    setMask |= 1 << id;
    return this;
  }

  /** The number of settings that are set. */
  public int count() {
    return Integer.bitCount(setMask);
  }

  public long headerTableSize(long dflt) {
    return isSet(HEADER_TABLE_SIZE) ? values[HEADER_TABLE_SIZE] : dflt;
  }

  public boolean enablePush(boolean dflt) {
    return isSet(ENABLE_PUSH) ? values[ENABLE_PUSH] != 0 : dflt;
  }

  public long maxConcurrentStreams(long dflt) {
    return isSet(MAX_CONCURRENT_STREAMS) ? values[MAX_CONCURRENT_STREAMS] : dflt;
  }

  /** The value as an int: a frame from the reader never holds more than 2^31-1 (§6.5.2). */
  public int initialWindowSize(int dflt) {
    return isSet(INITIAL_WINDOW_SIZE)
        ? (int) Math.min(values[INITIAL_WINDOW_SIZE], Integer.MAX_VALUE)
        : dflt;
  }

  /** The value as an int: a frame from the reader never holds more than 2^24-1 (§6.5.2). */
  public int maxFrameSize(int dflt) {
    return isSet(MAX_FRAME_SIZE) ? (int) Math.min(values[MAX_FRAME_SIZE], Integer.MAX_VALUE) : dflt;
  }

  public long maxHeaderListSize(long dflt) {
    return isSet(MAX_HEADER_LIST_SIZE) ? values[MAX_HEADER_LIST_SIZE] : dflt;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Settings)) {
      return false;
    }
    Settings that = (Settings) o;
    if (setMask != that.setMask) {
      return false;
    }
    for (int id = 1; id <= MAX_ID; id++) {
      if (isSet(id) && values[id] != that.values[id]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    int h = setMask;
    for (int id = 1; id <= MAX_ID; id++) {
      h = 31 * h + (isSet(id) ? Long.hashCode(values[id]) : 0);
    }
    return h;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("Settings{");
    String sep = "";
    for (int id = 1; id <= MAX_ID; id++) {
      if (isSet(id)) {
        sb.append(sep).append(NAMES[id]).append('=').append(values[id]);
        sep = ", ";
      }
    }
    return sb.append('}').toString();
  }
}
