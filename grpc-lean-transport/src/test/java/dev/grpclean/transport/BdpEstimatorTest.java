package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The growth decision alone, driven by recorded samples and a fake clock (nanoseconds). */
public class BdpEstimatorTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final int MIB = 1 << 20;
  private static final long MS = 1_000_000;

  private final BdpEstimator bdp = new BdpEstimator(8 * MIB);
  private long now = 1_000 * MS;

  /** One round trip: a PING leaves, {@code bytes} arrive in {@code rttNanos}, the ack comes. */
  private int sample(int bytes, long rttNanos, int windowBytes) {
    assertTrue(bdp.onData(16_384, true));
    bdp.pingSent(now);
    assertFalse("one PING at a time", bdp.onData(bytes, true));
    now += rttNanos;
    return bdp.onPingAck(now, windowBytes);
  }

  @Test
  public void noPingWhileTheWindowIsNotBusyNorWhileOneIsOutstanding() {
    assertFalse(bdp.onData(1000, false));
    assertTrue(bdp.onData(1000, true));
    bdp.pingSent(now);
    assertTrue(bdp.pingOutstanding());
    assertFalse(bdp.onData(1000, true));
    assertEquals("an ack of nothing outstanding decides nothing", 0,
        new BdpEstimator(8 * MIB).onPingAck(now, MIB));
  }

  @Test
  public void sampleFillingTheWindowWithRisingBandwidthDoublesIt() {
    // 800 KiB per 1.17 ms round trip in a 1 MiB window: the bench's download.
    assertEquals(1_600 * 1024, sample(800 * 1024, 1_170_000, MIB));
    // With the larger window more arrives per round trip: grows again, from the new window.
    assertEquals(3_000 * 1024, sample(1_500 * 1024, 1_170_000, 1_600 * 1024));
  }

  @Test
  public void sampleBelowTwoThirdsOfTheWindowKeepsIt() {
    // 2/3 of 1 MiB is 699,050.67 bytes: one byte short keeps the window, at it grows.
    assertEquals(0, sample(699_050, MS, MIB));
    BdpEstimator fresh = new BdpEstimator(8 * MIB);
    assertTrue(fresh.onData(1, true));
    fresh.pingSent(0);
    fresh.onData(699_051, true);
    assertEquals(2 * 699_051, fresh.onPingAck(MS, MIB));
  }

  @Test
  public void noGrowthOnceBandwidthStopsRising() {
    assertEquals(2 * MIB, sample(MIB, MS, MIB));
    // The window doubled but the bandwidth did not rise (same bytes, longer round trip: a
    // queue, not the window): no more growth, even though the sample fills 2/3 of the window.
    assertEquals(0, sample(1_500_000, 2 * MS, 2 * MIB));
    // A later round trip that beats the best bandwidth grows it again.
    assertEquals(2 * 1_600_000, sample(1_600_000, MS, 2 * MIB));
  }

  @Test
  public void growthStopsAtTheCap() {
    int window = MIB;
    long bytes = MIB;
    for (int round = 0; round < 10; round++) {
      int grown = sample((int) bytes, MS, window);
      assertTrue("never above the cap: " + grown, grown <= 8 * MIB);
      if (grown == 0) {
        break;
      }
      assertTrue("never shrinks", grown > window);
      window = grown;
      bytes = window; // every round trip fills the window, faster each time
    }
    assertEquals(8 * MIB, window);
    assertEquals("at the cap it stays", 0, sample(8 * MIB, MS / 2, window));
  }
}
