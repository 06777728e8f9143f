package dev.grpclean.transport.frame;

import com.google.common.collect.Interner;
import com.google.common.collect.Interners;
import io.netty.util.AsciiString;
import java.util.Arrays;

/**
 * An HPACK dynamic table written down as its entries' bytes, oldest first: an array of {@link
 * Entry}s, each one name/value pair as a 2-byte name length, the name's octets and the value's
 * octets. Entries are interned (weakly: an entry no table holds any more is collected), so
 * connections whose peers send the same fields (the same client library, authority, paths) share
 * them, and a hibernated table costs its array of references plus the entries only it holds.
 * Enough to rebuild an identical table through netty's public API.
 *
 * <p>HPACK strings are octets; netty holds them as {@link AsciiString}s (or Strings of chars below
 * 256), so writing each char as one byte is exact.
 *
 * <p>Thread-safe: entries are immutable and the interner is concurrent.
 */
final class HpackSnapshot {
  /** Names and values longer than this are not written down: no hibernation. */
  private static final int MAX_STRING_BYTES = 0xFFFF;
  private static final Entry[] EMPTY = new Entry[0];
  private static final Interner<Entry> ENTRIES = Interners.newWeakInterner();
  /**
   * Tables written down lately, so that connections with the same table (the same peers' fields in
   * the same order) share one array too, not only its entries: an idle connection then holds no
   * array of its own (two per connection, about 80 bytes, before). Least recently used first;
   * at most {@link #RECENT_TABLES} are kept here, a table evicted stays shared by the connections
   * that hold it. Arrays handed out are never written to.
   */
  private static final int RECENT_TABLES = 64;

  @com.google.errorprone.annotations.concurrent.GuardedBy("RECENT")
  private static final java.util.LinkedHashMap<Table, Entry[]> RECENT =
      new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        // HpackSnapshot.Entry spelled out: inside this subclass javac 21+ resolves a bare Entry
        // to LinkedHashMap's own inherited Entry type.
        protected boolean removeEldestEntry(
            java.util.Map.Entry<Table, HpackSnapshot.Entry[]> eldest) {
          return size() > RECENT_TABLES;
        }
      };

  private HpackSnapshot() {}

  /** One table entry's octets; equal by content. Immutable. */
  static final class Entry {
    /** 2-byte name length, name, value. */
    private final byte[] bytes;
    private final int hash;

    private Entry(byte[] bytes) {
      this.bytes = bytes;
      this.hash = Arrays.hashCode(bytes);
    }

    int nameLength() {
      return ((bytes[0] & 0xFF) << 8) | (bytes[1] & 0xFF);
    }

    int valueLength() {
      return bytes.length - 2 - nameLength();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Entry && ((Entry) o).hash == hash
          && Arrays.equals(((Entry) o).bytes, bytes);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  /**
   * Writes down {@code newestFirst} (name/value pairs, index 0 the newest entry) oldest first, or
   * returns null when a string is too long for the format.
   */
  static Entry[] of(CharSequence[] newestFirst) {
    int n = newestFirst.length / 2;
    if (n == 0) {
      return EMPTY;
    }
    Entry[] out = new Entry[n];
    for (int i = 0; i < n; i++) {
      CharSequence name = newestFirst[2 * (n - 1 - i)];
      CharSequence value = newestFirst[2 * (n - 1 - i) + 1];
      if (name.length() > MAX_STRING_BYTES || value.length() > MAX_STRING_BYTES) {
        return null;
      }
      byte[] bytes = new byte[2 + name.length() + value.length()];
      bytes[0] = (byte) (name.length() >>> 8);
      bytes[1] = (byte) name.length();
      put(bytes, 2, name);
      put(bytes, 2 + name.length(), value);
      out[i] = ENTRIES.intern(new Entry(bytes));
    }
    return shared(out);
  }

  /** {@code table}, or an equal one written down before. */
  private static Entry[] shared(Entry[] table) {
    Table key = new Table(table);
    synchronized (RECENT) {
      Entry[] known = RECENT.putIfAbsent(key, table);
      return known != null ? known : table;
    }
  }

  /** A table as a map key: equal when it holds the same (interned) entries in the same order. */
  private static final class Table {
    private final Entry[] entries;
    private final int hash;

    Table(Entry[] entries) {
      this.entries = entries;
      this.hash = Arrays.hashCode(entries);
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Table) || ((Table) o).hash != hash) {
        return false;
      }
      Entry[] other = ((Table) o).entries;
      if (other.length != entries.length) {
        return false;
      }
      for (int i = 0; i < entries.length; i++) {
        if (other[i] != entries[i]) {
          return false;
        }
      }
      return true;
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  private static void put(byte[] out, int pos, CharSequence s) {
    int n = s.length();
    if (s instanceof AsciiString) {
      AsciiString a = (AsciiString) s;
      System.arraycopy(a.array(), a.arrayOffset(), out, pos, n);
    } else {
      for (int i = 0; i < n; i++) {
        out[pos + i] = (byte) s.charAt(i);
      }
    }
  }

  /** Octets of the entries, counted per table (shared entries count in each). */
  static int sizeBytes(Entry[] table) {
    int n = 0;
    for (Entry e : table) {
      n += e.bytes.length;
    }
    return n;
  }

  /**
   * The entries oldest first as name/value pairs, each an {@link AsciiString} sharing the entry's
   * array (no copy; nothing writes to it).
   */
  static AsciiString[] fieldsOldestFirst(Entry[] table) {
    AsciiString[] fields = new AsciiString[2 * table.length];
    for (int i = 0; i < table.length; i++) {
      Entry e = table[i];
      fields[2 * i] = new AsciiString(e.bytes, 2, e.nameLength(), false);
      fields[2 * i + 1] = new AsciiString(e.bytes, 2 + e.nameLength(), e.valueLength(), false);
    }
    return fields;
  }

  /**
   * An HPACK header block (RFC 7541) that rebuilds {@code table} in a fresh decoder: a dynamic
   * table size update to {@code capacityBytes} (§6.3), then each entry oldest first as a literal
   * with incremental indexing and a new name (§6.2.1), without Huffman coding.
   */
  static byte[] toRebuildBlock(Entry[] table, long capacityBytes) {
    byte[] out = new byte[6 + sizeBytes(table) + 7 * table.length];
    int pos = putInt(out, 0, 0x20, 5, capacityBytes);
    for (Entry e : table) {
      out[pos++] = 0x40;
      int nameLength = e.nameLength();
      pos = putInt(out, pos, 0x00, 7, nameLength); // H = 0: raw octets
      System.arraycopy(e.bytes, 2, out, pos, nameLength);
      pos += nameLength;
      int valueLength = e.valueLength();
      pos = putInt(out, pos, 0x00, 7, valueLength);
      System.arraycopy(e.bytes, 2 + nameLength, out, pos, valueLength);
      pos += valueLength;
    }
    return Arrays.copyOf(out, pos);
  }

  /** RFC 7541 §5.1: an integer with an N-bit prefix after the pattern bits {@code first}. */
  private static int putInt(byte[] out, int pos, int first, int prefixBits, long value) {
    int max = (1 << prefixBits) - 1;
    if (value < max) {
      out[pos++] = (byte) (first | value);
      return pos;
    }
    out[pos++] = (byte) (first | max);
    value -= max;
    while (value >= 0x80) {
      out[pos++] = (byte) ((value & 0x7F) | 0x80);
      value >>>= 7;
    }
    out[pos++] = (byte) value;
    return pos;
  }
}
