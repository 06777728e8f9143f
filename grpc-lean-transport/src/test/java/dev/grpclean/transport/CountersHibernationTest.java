package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * A hibernating connection's counters are packed into a few bytes and unpacked on the next event,
 * (and its empty stream map and writer queues dropped), and no reader can tell: every figure (and every array, with or without the error-code tables,
 * negative nanoTime starts included) round-trips exactly, and snapshots taken before hibernation,
 * while packed and after waking are equal, for synthetic figures and for real connections.
 */
public class CountersHibernationTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  public void everyFigureRoundTripsThroughThePackedForm() throws Exception {
    Random random = new Random(11);
    for (int round = 0; round < 500; round++) {
      ConnectionCounters.Values v = new ConnectionCounters.Values();
      fill(v, random, round % 2 == 0, round % 5);
      ConnectionCounters.Values back = CountersPacking.unpack(CountersPacking.pack(v));
      assertSameFigures(v, back);
    }
  }

  @Test
  public void allZeroFiguresShareOneEmptyArray() {
    ConnectionCounters c = new ConnectionCounters(true);
    c.hibernate();
    assertTrue(c.isPacked());
    assertEquals(0, c.packedBytes());
    assertSame(CountersPacking.ALL_ZERO,
        CountersPacking.pack(new ConnectionCounters.Values()));
    assertNull("no error tables appear from nothing",
        CountersPacking.unpack(CountersPacking.ALL_ZERO).errorCodes);
  }

  @Test
  public void snapshotsAreEqualBeforeWhilePackedAndAfterWaking() throws Exception {
    Random random = new Random(7);
    for (int round = 0; round < 50; round++) {
      ConnectionCounters c = new ConnectionCounters(true);
      // Busy enough for the histograms, then arbitrary figures, open intervals included.
      for (int i = 0; i < ConnectionCounters.SYSCALLS_BEFORE_HISTOGRAMS + 3; i++) {
        c.readable();
        c.readSyscall(1 + random.nextInt(20_000));
        c.readConsumed();
        c.readableDone();
        c.wrote(random.nextInt(3000));
      }
      fill(c.live(), random, round % 2 == 0, round % 5);
      long now = System.nanoTime();
      String before = snapshot(c, now);
      c.hibernate();
      assertTrue(c.isPacked());
      String packed = snapshot(c, now);
      assertTrue("a snapshot does not wake the figures", c.isPacked());
      c.live();
      assertFalse(c.isPacked());
      String woken = snapshot(c, now);
      assertEquals(before, packed);
      assertEquals(before, woken);
    }
  }

  @Test
  public void eventsAfterHibernationCountOnTopOfThePackedFigures() {
    ConnectionCounters c = new ConnectionCounters(true);
    c.wrote(100);
    c.rstStreamReceived(8);
    c.hibernate();
    c.wrote(50); // wakes
    assertFalse(c.isPacked());
    assertEquals(2, c.live().writeSyscalls);
    assertEquals(150, c.live().bytesWritten);
    LeanConnectionStats.Builder b = LeanConnectionStats.builder(System.nanoTime());
    c.addTo(b, System.nanoTime(), 0, true);
    assertEquals(1, b.build().rstStreamIn(8));
  }

  @Test
  public void countingOffStaysOffThroughHibernation() {
    ConnectionCounters c = new ConnectionCounters(false);
    c.hibernate();
    c.wrote(10);
    assertFalse(c.isPacked());
    assertEquals(-1, c.packedBytes());
    LeanConnectionStats.Builder b = LeanConnectionStats.builder(1);
    c.addTo(b, 1, 0, true);
    assertEquals(0, b.build().get(Figure.BYTES_WRITTEN));
  }

  /**
   * Real connections after real calls: they hibernate (counters packed into under 64 bytes),
   * their snapshots before packing, while packed and after waking are equal on their loop, and
   * the next call counts on top of the packed figures in the group's snapshot.
   */
  @Test
  public void realConnectionsPackTheirCountersInvisibly() throws Exception {
    LeanServerBuilder serverBuilder = LeanServerBuilder.forPort(0).addService(Echo.service());
    Server server = serverBuilder.build().start();
    LeanChannelBuilder channelBuilder =
        LeanChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext();
    ManagedChannel channel = channelBuilder.build();
    try {
      assertArrayEquals(new byte[5], Echo.call(channel, new byte[5]));
      List<ConnectionStatsGroup> groups = List.of(serverBuilder.connectionStats(),
          channelBuilder.connectionStats());
      Conditions.await(() -> allPacked(groups), WAIT, () -> "counters never packed");
      long headersIn = serverBuilder.connectionStats().snapshot().framesIn(FrameType.HEADERS);
      assertEquals(1, headersIn);
      for (ConnectionStatsGroup g : groups) {
        for (Http2Connection c : g.openConnections()) {
          CompletableFuture<String[]> f = new CompletableFuture<>();
          c.loop.execute(() -> {
            long now = System.nanoTime();
            String packed = c.statsNow(now).toString();
            int bytes = c.counters.packedBytes();
            boolean released = !c.streams.isAllocated() && !c.writer.holdsQueues();
            c.counters.live(); // wake
            String woken = c.statsNow(now).toString();
            c.counters.hibernate();
            String repacked = c.statsNow(now).toString();
            f.complete(new String[] {packed, woken, repacked, Integer.toString(bytes),
                Boolean.toString(released)});
          });
          String[] r = f.get(10, TimeUnit.SECONDS);
          assertEquals("stream map and writer queues dropped while hibernating", "true", r[4]);
          assertEquals(r[0], r[1]);
          assertEquals(r[0], r[2]);
          assertTrue("packed counters of a connection that ran one call: " + r[3] + " bytes",
              Integer.parseInt(r[3]) > 0 && Integer.parseInt(r[3]) < 64);
        }
      }
      assertArrayEquals(new byte[7], Echo.call(channel, new byte[7]));
      LeanConnectionStats server2 = serverBuilder.connectionStats().snapshot();
      assertEquals(2, server2.framesIn(FrameType.HEADERS));
      assertEquals(4, server2.framesOut(FrameType.HEADERS));
      assertEquals(4, channelBuilder.connectionStats().snapshot().framesIn(FrameType.HEADERS));
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static boolean allPacked(List<ConnectionStatsGroup> groups) {
    try {
      return allPackedOrThrow(groups);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static boolean allPackedOrThrow(List<ConnectionStatsGroup> groups) throws Exception {
    for (ConnectionStatsGroup g : groups) {
      int n = 0;
      for (Http2Connection c : g.openConnections()) {
        n++;
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        c.loop.execute(() -> f.complete(c.counters.isPacked()));
        if (!f.get(10, TimeUnit.SECONDS)) {
          return false;
        }
      }
      if (n != 1) {
        return false;
      }
    }
    return true;
  }

  private static String snapshot(ConnectionCounters c, long now) {
    LeanConnectionStats.Builder b = LeanConnectionStats.builder(now);
    c.addTo(b, now, 3, true);
    return b.build().toString();
  }

  /**
   * Sets every figure of {@code v}: small counts, large ones, negative starts, zeros ({@code
   * zeroEvery} of them in five are zero); the error tables only {@code withErrorCodes}.
   */
  private static void fill(ConnectionCounters.Values v, Random random, boolean withErrorCodes,
      int zeroEvery) throws Exception {
    for (Field f : ConnectionCounters.Values.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers())) {
        continue;
      }
      if (f.getType() == long.class) {
        f.setLong(v, value(random, zeroEvery));
      } else if (f.getType() == int.class) {
        f.setInt(v, (int) value(random, zeroEvery));
      } else if (f.getType() == long[].class) {
        long[] a = (long[]) f.get(v);
        if (a == null && withErrorCodes) {
          a = new long[4 * ConnectionCounters.ERROR_CODE_SLOTS];
          f.set(v, a);
        }
        if (a != null) {
          for (int i = 0; i < a.length; i++) {
            a[i] = value(random, zeroEvery);
          }
        }
      } else {
        throw new AssertionError("a figure the test does not know: " + f);
      }
    }
  }

  private static long value(Random random, int zeroEvery) {
    int pick = random.nextInt(5);
    if (pick < zeroEvery) {
      return 0;
    }
    switch (random.nextInt(4)) {
      case 0: return random.nextInt(128);
      case 1: return random.nextInt(1 << 20);
      case 2: return random.nextLong(); // a nanoTime start may be negative
      default: return Long.MAX_VALUE - random.nextInt(10);
    }
  }

  private static void assertSameFigures(ConnectionCounters.Values a, ConnectionCounters.Values b)
      throws Exception {
    List<String> diffs = new ArrayList<>();
    for (Field f : ConnectionCounters.Values.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers())) {
        continue;
      }
      Object x = f.get(a);
      Object y = f.get(b);
      if (!java.util.Objects.deepEquals(x, y)) {
        diffs.add(f.getName());
      }
    }
    assertTrue("figures changed by packing: " + diffs, diffs.isEmpty());
  }
}
