package dev.grpclean.transport;

import io.netty.util.collection.IntObjectHashMap;
import java.util.Collection;
import java.util.Collections;

/**
 * A connection's open streams by id: a primitive-keyed hash map created by the first stream and
 * dropped when the connection hibernates with none open ({@link #releaseIfEmpty}), so an idle
 * connection holds this 16-byte object instead of the map, its arrays and its views.
 *
 * <p>Confined to the connection's loop thread, like the {@link Http2Connection} that owns it.
 */
final class StreamMap {
  /** Null until the first stream, and again after {@link #releaseIfEmpty}. */
  @javax.annotation.Nullable private IntObjectHashMap<H2Stream> map;

  @javax.annotation.Nullable
  H2Stream get(int id) {
    return map == null ? null : map.get(id);
  }

  @javax.annotation.Nullable
  H2Stream put(int id, H2Stream stream) {
    if (map == null) {
      map = new IntObjectHashMap<>(4);
    }
    return map.put(id, stream);
  }

  @javax.annotation.Nullable
  H2Stream remove(int id) {
    return map == null ? null : map.remove(id);
  }

  boolean isEmpty() {
    return map == null || map.isEmpty();
  }

  int size() {
    return map == null ? 0 : map.size();
  }

  /** The open streams: a live view, as the map's own (copy it before changing the map). */
  Collection<H2Stream> values() {
    return map == null ? Collections.emptyList() : map.values();
  }

  void clear() {
    if (map != null) {
      map.clear();
    }
  }

  /** Drops the map if no stream is open; the next {@link #put} makes a new one. */
  void releaseIfEmpty() {
    if (map != null && map.isEmpty()) {
      map = null;
    }
  }

  /** Whether the map is allocated now (tests: released while hibernating). */
  boolean isAllocated() {
    return map != null;
  }
}
