package dev.grpclean.interop;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link SoakJudge}'s rule on synthetic sample series: what counts as flat, what as growth, which
 * samples it judges, and the idle checks.
 *
 * <p>Thread-compatible (JUnit runs each test on one thread).
 */
@RunWith(JUnit4.class)
public class SoakJudgeTest {
  private static final long MIB = 1024 * 1024;
  /** Samples per series: one before the load, 20 under it, one after. */
  private static final int LOADED = 20;

  @Rule public final Timeout timeout = Timeout.seconds(10);

  private final SoakJudge.Criteria criteria = SoakJudge.Criteria.defaults();

  @Test
  public void flatSeriesWithNoisePasses() {
    SoakJudge.Verdict verdict = judge(series(i -> base().heap(40 * MIB + (i % 3) * MIB)));

    assertTrue(verdict.report(), verdict.pass());
    assertTrue(verdict.report(), verdict.report().contains("PASS"));
  }

  @Test
  public void heapGrowingPastTheSlackFails() {
    // 1 MiB per sample: the last third's floor is 10 MiB above the first third's.
    SoakJudge.Verdict verdict = judge(series(i -> base().heap(40 * MIB + i * MIB)));

    assertFalse(verdict.report(), verdict.pass());
    assertEquals(1, verdict.failures().size());
    assertTrue(verdict.failures().get(0), verdict.failures().get(0).startsWith("heap after GC"));
  }

  @Test
  public void heapGrowthWithinTheSlackPasses() {
    // 0.3 MiB per sample: 3 MiB from the first third's floor to the last's, under 4 MiB.
    SoakJudge.Verdict verdict = judge(series(i -> base().heap(40 * MIB + i * 3 * MIB / 10)));

    assertTrue(verdict.report(), verdict.pass());
  }

  @Test
  public void slackIsRelativeOnALargeHeap() {
    // 12 MiB of growth is more than 4 MiB but under 10% of a 200 MiB live set.
    SoakJudge.Verdict verdict =
        judge(series(i -> base().heap(200 * MIB + (i >= 15 ? 12 * MIB : 0))));

    assertTrue(verdict.report(), verdict.pass());
  }

  @Test
  public void heapPoolFillingUpIsNotGrowth() {
    // The lean heap pool keeps up to its cap of free buffers; that is not a leak.
    SoakJudge.Verdict verdict =
        judge(series(i -> base().heap(40 * MIB + i * MIB).heapPooled(i * MIB)));

    assertTrue(verdict.report(), verdict.pass());
  }

  @Test
  public void peaksOfWhatIsInFlightAreNotGrowth() {
    // Loaded samples 5-9 are the first third, 15-19 the last. Single samples rise by 5 MiB with
    // what is in flight (as healthy soak runs show), in the last third more often than in the
    // first; the floor stays at 40 MiB.
    SoakJudge.Verdict verdict =
        judge(series(i -> base().heap(40 * MIB + (i == 7 || i == 16 || i == 18 ? 5 * MIB : 0))));

    assertTrue(verdict.report(), verdict.pass());
  }

  @Test
  public void aRaisedFloorFailsDespiteAPeakInTheFirstThird() {
    // A 10 MiB peak in the first third does not lift its baseline: every sample of the last
    // third is 5 MiB above the first third's floor, and that is growth.
    SoakJudge.Verdict verdict =
        judge(series(i -> base().heap(i == 6 ? 50 * MIB : 40 * MIB + (i >= 15 ? 5 * MIB : 0))));

    assertFalse(verdict.report(), verdict.pass());
    assertTrue(verdict.failures().get(0), verdict.failures().get(0).startsWith("heap after GC"));
  }

  @Test
  public void aFloorRaisedWithinTheSlackPasses() {
    SoakJudge.Verdict verdict =
        judge(series(i -> base().heap(i == 6 ? 50 * MIB : 40 * MIB + (i >= 15 ? 3 * MIB : 0))));

    assertTrue(verdict.report(), verdict.pass());
  }

  @Test
  public void growthDuringWarmUpIsNotJudged() {
    // The first 5 loaded samples (25%) are warm-up: threads and heap climb there, then stay.
    SoakJudge.Verdict verdict =
        judge(series(i -> base()
            .heap((20 + Math.min(i, 5) * 10) * MIB)
            .threads(10 + 8 * Math.min(i, 5))));

    assertTrue(verdict.report(), verdict.pass());
  }

  @Test
  public void threadLeakFails() {
    SoakJudge.Verdict verdict = judge(series(i -> base().threads(30 + i)));

    assertFalse(verdict.report(), verdict.pass());
    assertTrue(verdict.failures().get(0), verdict.failures().get(0).startsWith("threads"));
  }

  @Test
  public void fileDescriptorsOfOpenConnectionsAreNotGrowth() {
    SoakJudge.Verdict verdict = judge(series(i -> base().fds(130 + 2 * i).connections(5 + 2 * i)));

    assertTrue(verdict.report(), verdict.pass());
  }

  @Test
  public void fileDescriptorLeakFails() {
    SoakJudge.Verdict verdict = judge(series(i -> base().fds(130 + 2 * i).connections(5)));

    assertFalse(verdict.report(), verdict.pass());
    assertTrue(verdict.failures().get(0), verdict.failures().get(0).startsWith("fds"));
  }

  @Test
  public void missingFigureIsNotJudged() {
    SoakJudge.Verdict verdict = judge(series(i -> base().fds(-1)));

    assertTrue(verdict.report(), verdict.pass());
    assertTrue(verdict.report(), verdict.report().contains("n/a"));
  }

  @Test
  public void samplesWithoutLoadAreNotJudged() {
    // Growth under load, then a low tail once the clients are gone: the tail must not hide it.
    List<SoakSample> samples = series(i -> base().heap(40 * MIB + i * MIB));
    SoakSample idle = samples.remove(samples.size() - 1);
    long calls = samples.get(samples.size() - 1).callsTotal();
    for (int i = 0; i < 10; i++) {
      samples.add(base().heap(10 * MIB).calls(calls).at(1000 + i).build(SoakSample.Kind.PERIODIC));
    }
    samples.add(idle);

    SoakJudge.Verdict verdict = judge(samples);

    assertFalse(verdict.report(), verdict.pass());
  }

  @Test
  public void underLoadNeedsCallsBeforeAndAfterTheSample() {
    List<SoakSample> periodic = new ArrayList<>();
    long[] callsTotal = {0, 0, 10, 20, 30, 30, 30};
    for (int i = 0; i < callsTotal.length; i++) {
      periodic.add(base().calls(callsTotal[i]).at(i).build(SoakSample.Kind.PERIODIC));
    }

    List<SoakSample> loaded = SoakJudge.underLoad(periodic);

    // #2 (calls 0 -> 10 -> 20) and #3 (10 -> 20 -> 30); #1 had none before, #4 none after.
    assertEquals(List.of(periodic.get(2), periodic.get(3)), loaded);
  }

  @Test
  public void leasesGrowingUnderLoadFailEvenIfReturnedAtIdle() {
    SoakJudge.Verdict verdict = judge(series(i -> base().leased(i * MIB, 16L * i)));

    assertFalse(verdict.report(), verdict.pass());
    assertEquals(1, verdict.failures().size());
    assertTrue(verdict.failures().get(0), verdict.failures().get(0).startsWith("lean leased"));
  }

  @Test
  public void leasesAtIdleFail() {
    List<SoakSample> samples = series(i -> base());
    samples.set(samples.size() - 1, base().leased(65536, 1).build(SoakSample.Kind.IDLE));

    SoakJudge.Verdict verdict = judge(samples);

    assertFalse(verdict.report(), verdict.pass());
    assertTrue(verdict.failures().get(0), verdict.failures().get(0).contains("65536 bytes"));
  }

  @Test
  public void leasesAtIdleWithinTheBoundPass() {
    List<SoakSample> samples = series(i -> base());
    samples.set(samples.size() - 1, base().leased(4096, 1).build(SoakSample.Kind.IDLE));
    SoakJudge.Criteria lenient =
        new SoakJudge.Criteria(criteria.warmupFraction(), criteria.minWarmup(),
            criteria.minJudged(), 4096, criteria.metrics());

    assertTrue(SoakJudge.judge(samples, lenient).pass());
  }

  @Test
  public void connectionOpenAtIdleFails() {
    List<SoakSample> samples = series(i -> base());
    samples.set(samples.size() - 1, base().connections(1).build(SoakSample.Kind.IDLE));

    SoakJudge.Verdict verdict = judge(samples);

    assertFalse(verdict.report(), verdict.pass());
    assertTrue(verdict.failures().get(0), verdict.failures().get(0).contains("connections"));
  }

  @Test
  public void missingIdleSampleFails() {
    List<SoakSample> samples = series(i -> base());
    samples.remove(samples.size() - 1);

    assertFalse(judge(samples).pass());
  }

  @Test
  public void tooFewSamplesFail() {
    List<SoakSample> samples = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      samples.add(base().calls(100L * i).at(i).build(SoakSample.Kind.PERIODIC));
    }
    samples.add(idle());

    SoakJudge.Verdict verdict = judge(samples);

    assertFalse(verdict.report(), verdict.pass());
    assertTrue(verdict.failures().get(0), verdict.failures().get(0).startsWith("too few"));
  }

  @Test
  public void csvRoundTrips() {
    SoakSample sample = new SoakSample(SoakSample.Kind.IDLE, 12.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        11, 12, 13);

    assertEquals(sample, SoakSample.parse(sample.toCsv()));
    assertEquals(List.of(sample), SoakSample.parseAll(List.of(SoakSample.HEADER, sample.toCsv(),
        "")));
  }

  @Test
  public void csvWithoutTheHeaderIsRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> SoakSample.parseAll(List.of("periodic,1.0,1,2,3,4,5,6,7,8,9,10,11,12,13")));
    assertThrows(IllegalArgumentException.class, () -> SoakSample.parse("periodic,1.0,x"));
  }

  private SoakJudge.Verdict judge(List<SoakSample> samples) {
    return SoakJudge.judge(samples, criteria);
  }

  /**
   * One sample before the load, {@link #LOADED} under it built by {@code loaded} (i from 0), one
   * after it (the end of the load), and an idle one. Calls grow by 1000 per sample under load.
   */
  private static List<SoakSample> series(IntFunction<Builder> loaded) {
    List<SoakSample> samples = new ArrayList<>();
    samples.add(base().heap(5 * MIB).at(0).build(SoakSample.Kind.PERIODIC));
    for (int i = 0; i < LOADED; i++) {
      samples.add(
          loaded.apply(i).calls(1000L * (i + 1)).at(5 * (i + 1)).build(SoakSample.Kind.PERIODIC));
    }
    samples.add(base().calls(1000L * (LOADED + 1)).at(5 * (LOADED + 1))
        .build(SoakSample.Kind.PERIODIC));
    samples.add(idle());
    return samples;
  }

  private static SoakSample idle() {
    return base().build(SoakSample.Kind.IDLE);
  }

  private static Builder base() {
    return new Builder();
  }

  /** A sample with steady figures unless told otherwise. Thread-compatible. */
  private static final class Builder {
    private double at;
    private long heap = 40 * MIB;
    private long heapPooled = 4 * MIB;
    private long leased;
    private long leases;
    private long threads = 30;
    private long fds = 130;
    private long connections;
    private long calls;

    Builder at(double seconds) {
      at = seconds;
      return this;
    }

    Builder heap(long bytes) {
      heap = bytes;
      return this;
    }

    Builder heapPooled(long bytes) {
      heapPooled = bytes;
      return this;
    }

    /** Leased from the heap pool. */
    Builder leased(long bytes, long count) {
      leased = bytes;
      leases = count;
      return this;
    }

    Builder threads(long count) {
      threads = count;
      return this;
    }

    Builder fds(long count) {
      fds = count;
      return this;
    }

    Builder connections(long count) {
      connections = count;
      return this;
    }

    Builder calls(long total) {
      calls = total;
      return this;
    }

    SoakSample build(SoakSample.Kind kind) {
      return new SoakSample(kind, at, heap, 2 * MIB, 300 * MIB, leased, leases, leased, MIB,
          heapPooled, threads, fds, connections, connections + 10, calls);
    }
  }
}
