package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.bench.PreloadCounters.Counter;
import dev.grpclean.bench.PreloadCounters.Counts;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/** The counter file's layout: hand-built files parse to their values; broken ones are refused. */
public class PreloadCountersTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);
  @Rule public final TemporaryFolder folder = new TemporaryFolder();

  /** A counter file as syscount.c writes it: counter i holds base + i. */
  private static ByteBuffer file(int count, int stride, long pid, long base) {
    ByteBuffer b = ByteBuffer.allocate(PreloadCounters.HEADER_BYTES + stride * count)
        .order(ByteOrder.nativeOrder());
    b.put(PreloadCounters.MAGIC);
    b.putInt(8, count).putInt(12, stride).putLong(16, pid);
    for (int i = 0; i < count; i++) {
      b.putLong(PreloadCounters.HEADER_BYTES + stride * i, base + i);
    }
    return b;
  }

  private static final int N = Counter.values().length;

  @Test
  public void readsEachCounterAtItsStride() {
    Counts c = PreloadCounters.parse(file(N, 64, 4242, 1000));
    assertEquals(4242, c.pid);
    for (Counter k : Counter.values()) {
      assertEquals(1000 + k.ordinal(), c.get(k));
    }
    Counts packed = PreloadCounters.parse(file(N, 8, 7, 5));
    assertEquals(5 + Counter.SOCKET_WRITES.ordinal(), packed.get(Counter.SOCKET_WRITES));
  }

  @Test
  public void aWindowIsTheDifferenceOfTwoReadings() {
    Counts start = PreloadCounters.parse(file(N, 64, 9, 100));
    ByteBuffer later = file(N, 64, 9, 100);
    later.putLong(PreloadCounters.HEADER_BYTES + 64 * Counter.SOCKET_READS.ordinal(), 100 + 42);
    Counts d = PreloadCounters.parse(later).minus(start);
    assertEquals(42 - Counter.SOCKET_READS.ordinal(), d.get(Counter.SOCKET_READS));
    assertEquals(0, d.get(Counter.EPOLL_WAITS));
    Counts other = PreloadCounters.parse(file(N, 64, 10, 100));
    assertThrows(IllegalArgumentException.class, () -> other.minus(start));
  }

  @Test
  public void refusesAFileOfAnotherShape() {
    ByteBuffer badMagic = file(N, 64, 1, 0);
    badMagic.put(0, (byte) 'X');
    assertTrue(refusal(badMagic).contains("magic"));
    assertTrue(refusal(file(N + 1, 64, 1, 0)).contains("another version"));
    assertTrue(refusal(file(N, 12, 1, 0)).contains("stride"));
    assertTrue(refusal(ByteBuffer.allocate(10)).contains("no header"));
    ByteBuffer cut = file(N, 64, 1, 0);
    cut.limit(cut.limit() - 1);
    assertTrue(refusal(cut).contains("need"));
  }

  @Test
  public void readsAFileAndNamesAMissingOrEmptyOne() throws Exception {
    Path f = folder.getRoot().toPath().resolve("x.syscount");
    ByteBuffer b = file(N, 64, 77, 3);
    Files.write(f, b.array());
    assertEquals(3 + Counter.WAKEUP_READS.ordinal(),
        PreloadCounters.read(f).get(Counter.WAKEUP_READS));
    Path missing = folder.getRoot().toPath().resolve("missing.syscount");
    BenchException e = assertThrows(BenchException.class, () -> PreloadCounters.read(missing));
    assertTrue(e.getMessage(), e.getMessage().contains("did not start"));
    Path empty = folder.newFile("empty.syscount").toPath();
    e = assertThrows(BenchException.class, () -> PreloadCounters.read(empty));
    assertTrue(e.getMessage(), e.getMessage().contains("0 bytes"));
  }

  private static String refusal(ByteBuffer b) {
    return assertThrows(IllegalArgumentException.class, () -> PreloadCounters.parse(b))
        .getMessage();
  }
}
