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
  private static final int ROUND = BdpEstimator.SAMPLES_PER_ROUND;

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

  /**
   * A round of identical samples: the samples before the last decide nothing; returns what the
   * last one decides.
   */
  private int round(int bytes, long rttNanos, int windowBytes) {
    for (int i = 1; i < ROUND; i++) {
      assertEquals("decided before the round was complete", 0,
          sample(bytes, rttNanos, windowBytes));
    }
    return sample(bytes, rttNanos, windowBytes);
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
  public void firstRoundFillingTheWindowGrowsItToTwiceTheAverageSample() {
    // 800 KiB per 1.17 ms round trip in a 1 MiB window: fills it, nothing measured before.
    assertEquals(1_600 * 1024, round(800 * 1024, 1_170_000, MIB));
  }

  @Test
  public void theRoundAveragesItsSamples() {
    // Samples of 400 KiB and 1200 KiB: each alone says little, their average (800 KiB) fills
    // 2/3 of the 1 MiB window.
    for (int i = 1; i < ROUND; i++) {
      assertEquals(0, sample(i % 2 == 0 ? 400 * 1024 : 1_200 * 1024, MS, MIB));
    }
    assertEquals(2 * 800 * 1024, sample(ROUND % 2 == 0 ? 400 * 1024 : 1_200 * 1024, MS, MIB));
  }

  @Test
  public void roundBelowTwoThirdsOfTheWindowKeepsIt() {
    // 2/3 of 1 MiB is 699,050.67 bytes: one byte short on average keeps the window, at it grows.
    assertEquals(0, round(699_050, MS, MIB));
    assertEquals(2 * 699_051, round(699_051, MS, MIB));
  }

  @Test
  public void queueingThatGrowsTheRoundTripWithTheWindowStopsGrowthAfterTheFirst() {
    // Loopback under load: whatever the window, a round trip carries a window's worth, because
    // the PING's ack waits behind what is queued, so the round trip grows with the window and
    // the bandwidth stays at about 800 MiB/s.
    int window = MIB;
    int grown = round(window, 1_250_000, window);
    assertEquals(2 * MIB, grown);
    window = grown;
    assertEquals("twice the window, twice the round trip: no gain", 0,
        round(window, 2_500_000, window));
    // Noise: rounds 10-20 % faster than the best so far do not grow it either.
    assertEquals(0, round(window, 2_250_000, window));
    assertEquals(0, round(window, 2_100_000, window));
    assertEquals(0, round(window, 2_500_000, window));
  }

  @Test
  public void bandwidthRisingOnAShortPathGrowsOnlyOnce() {
    // Loopback while the JIT warms up: one round trip saw no queue (100 us); the others waited
    // behind a window's worth of queued bytes. The bandwidth rises by half from round to round,
    // but 100 us at that bandwidth is a small fraction of the window: after the first growth,
    // which lets the peer send while the application reads, the window stays.
    assertEquals(0, sample(64 * 1024, 100_000, MIB));
    assertEquals(0, sample(MIB, 2 * MS, MIB));
    assertEquals(0, sample(MIB, 2 * MS, MIB));
    int window = sample(MIB, 2 * MS, MIB);
    assertEquals("the first round grows it", 2 * ((64 * 1024 + 3 * MIB) / ROUND), window);
    // 0.53 bytes/ns in the first round; 0.80, then 1.24 (each over 1.5x the best before), but
    // twice 0.1 ms of either is a few hundred KiB, under the 1.5 MiB window.
    assertEquals(0, round(window, 2 * MS, window));
    assertEquals(0, round(window, 1_300_000, window));
  }

  @Test
  public void longRoundTripPathGrowsUntilTheWindowCoversIt() {
    // 40 ms round trip at 50 MiB/s: a 2 MiB bandwidth-delay product. A window up to it is filled
    // in each round trip and the bandwidth doubles with it, so it grows; one twice the path's
    // BDP (grpc-go's aim too) is no longer filled, so it stays.
    long rtt = 40 * MS;
    int pathBytes = 2 * MIB;
    assertEquals(2 * MIB, round(MIB, rtt, MIB));
    assertEquals("twice the window, twice the bandwidth", 4 * MIB, round(2 * MIB, rtt, 2 * MIB));
    assertEquals("a window past the path's BDP is not filled", 0,
        round(pathBytes, rtt, 4 * MIB));
  }

  @Test
  public void aLaterRoundThatBeatsTheBestByTheMarginGrowsAgain() {
    assertEquals(2 * MIB, round(MIB, MS, MIB));
    assertEquals("flat", 0, round(2 * MIB, 2 * MS, 2 * MIB));
    // The path got faster: 1.5x the best bandwidth, filling the window.
    assertEquals(4 * MIB, round(2 * MIB, 4 * MS / 3, 2 * MIB));
  }

  @Test
  public void growthStopsAtTheCap() {
    BdpEstimator small = new BdpEstimator(3 * MIB);
    int window = MIB;
    int grown = 0;
    for (int r = 0; r < 3; r++) {
      for (int i = 0; i < ROUND; i++) {
        assertTrue(small.onData(1, true));
        small.pingSent(now);
        small.onData(window, true);
        now += MS; // a window per millisecond: the bandwidth doubles with the window
        grown = small.onPingAck(now, window);
      }
      assertTrue("never above the cap: " + grown, grown <= 3 * MIB);
      if (grown == 0) {
        break;
      }
      assertTrue("never shrinks", grown > window);
      window = grown;
    }
    assertEquals(3 * MIB, window);
    assertEquals("at the cap it stays", 0, grown);
  }
}
