package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.QpsDoctor.Bottleneck;
import dev.grpclean.transport.QpsDoctor.Verdict;
import dev.grpclean.transport.frame.FrameType;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The doctor's verdicts on constructed pairs of snapshots: what each cause needs to be named. */
public class QpsDoctorTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);
  private static final long SECOND = 1_000_000_000L;
  private static final long START = 5 * SECOND;

  private static LeanConnectionStats.Builder at(long nanos, int connections) {
    return LeanConnectionStats.builder(nanos).add(Figure.CONNECTIONS_OPEN, connections);
  }

  private static final LeanConnectionStats IDLE_START = at(START, 1)
      .add(Figure.BYTES_WRITTEN, 1000).add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 5 * SECOND).build();

  @Test
  public void peerStreamWindowNamedWhenStreamsStallMostOfTheTime() {
    LeanConnectionStats later = at(START + SECOND, 1)
        .add(Figure.BYTES_WRITTEN, 1000 + (6L << 20))
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 5 * SECOND + 700_000_000L)
        .add(Figure.STREAM_WINDOW_BLOCKED_EVENTS, 100)
        .add(Figure.STREAM_WINDOW_BLOCKED_BYTES, 100 * 64 * 1024).build();
    List<Verdict> verdicts = QpsDoctor.diagnose(IDLE_START, later);
    assertEquals(verdicts.toString(), 1, verdicts.size());
    Verdict v = verdicts.get(0);
    assertEquals(Bottleneck.PEER_STREAM_WINDOW, v.bottleneck);
    assertEquals(0.7, v.share, 1e-9);
    assertTrue(v.evidence, v.evidence.contains("70% of the time (100 stalls, 64 KiB queued"));
    assertTrue(v.evidence, v.evidence.contains("sending 6144 KiB/s"));
    assertTrue(QpsDoctor.report(verdicts), QpsDoctor.report(verdicts).contains("flowControlWindow"));
  }

  @Test
  public void windowStallEvidenceHasTheEndedStreamsSummaries() {
    LeanConnectionStats.Builder later = at(START + SECOND, 1)
        .add(Figure.BYTES_WRITTEN, 1000 + (6L << 20))
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 5 * SECOND + 700_000_000L)
        .add(Figure.STREAM_WINDOW_BLOCKED_EVENTS, 100)
        .add(Figure.ENDED_STREAMS, 10).add(Figure.ENDED_STREAMS_BLOCKED_ON_WINDOW, 9)
        .max(Figure.ENDED_STREAM_WINDOW_BLOCKED_NANOS_MAX, 80_000_000L)
        .record(LeanConnectionStats.Histogram.STREAM_WINDOW_BLOCKED_NANOS, 0);
    for (int i = 0; i < 9; i++) {
      later.record(LeanConnectionStats.Histogram.STREAM_WINDOW_BLOCKED_NANOS, 50_000_000L);
    }
    Verdict v = QpsDoctor.diagnose(IDLE_START, later.build()).get(0);
    assertEquals(Bottleneck.PEER_STREAM_WINDOW, v.bottleneck);
    // 50 ms lies in the log2 bucket up to 2^26 - 1 ns.
    assertTrue(v.evidence, v.evidence.endsWith("; 9 of 10 ended streams were blocked on the "
        + "window, p99 67.1 ms each, the worst stream since start 80.0 ms"));
    assertEquals("", QpsDoctor.endedStreams(IDLE_START));
  }

  @Test
  public void shortStallsAreNotALimit() {
    LeanConnectionStats later = at(START + SECOND, 1)
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 5 * SECOND + 200_000_000L).build();
    List<Verdict> verdicts = QpsDoctor.diagnose(IDLE_START, later);
    assertTrue(verdicts.toString(), verdicts.isEmpty());
    assertTrue(QpsDoctor.report(verdicts).startsWith("no limit found"));
  }

  @Test
  public void stallTimeIsSharedOverTheOpenConnections() {
    LeanConnectionStats start = at(START, 4).build();
    LeanConnectionStats four = at(START + SECOND, 4)
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 1_200_000_000L).build();
    assertEquals(0.3, QpsDoctor.diagnose(start, four).get(0).share, 1e-9);
    LeanConnectionStats eight = at(START + SECOND, 8)
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 1_200_000_000L).build();
    assertTrue(QpsDoctor.diagnose(start, eight).isEmpty());
  }

  @Test
  public void causesComeMostLimitingFirst() {
    LeanConnectionStats later = at(START + 2 * SECOND, 1).add(Figure.BYTES_WRITTEN, 1000)
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 5 * SECOND + 200_000_000L)
        .add(Figure.CONNECTION_WINDOW_BLOCKED_NANOS, 1_000_000_000L)
        .add(Figure.CONNECTION_WINDOW_BLOCKED_EVENTS, 3)
        .add(Figure.SOCKET_NOT_WRITABLE_NANOS, 1_800_000_000L)
        .add(Figure.SHORT_WRITES, 40).add(Figure.WRITE_SYSCALLS, 90).build();
    List<Verdict> verdicts = QpsDoctor.diagnose(IDLE_START, later);
    assertEquals(verdicts.toString(), 2, verdicts.size());
    assertEquals(Bottleneck.SEND_BUFFER_FULL, verdicts.get(0).bottleneck);
    assertEquals(0.9, verdicts.get(0).share, 1e-9);
    assertTrue(verdicts.get(0).evidence.contains("(40 writes refused of 90)"));
    assertEquals(Bottleneck.PEER_CONNECTION_WINDOW, verdicts.get(1).bottleneck);
    assertEquals(0.5, verdicts.get(1).share, 1e-9);
  }

  @Test
  public void ourReceiveWindowNamedWhenThePeerKeepsFillingIt() {
    LeanConnectionStats start = at(START, 1).build();
    LeanConnectionStats often = at(START + SECOND, 1)
        .add(Figure.PEER_FILLED_STREAM_WINDOW, 90).add(Figure.PEER_FILLED_CONNECTION_WINDOW, 10)
        .add(Figure.BYTES_READ, 3L << 20).addFramesIn(FrameType.DATA, 200).build();
    List<Verdict> verdicts = QpsDoctor.diagnose(start, often);
    assertEquals(verdicts.toString(), 1, verdicts.size());
    assertEquals(Bottleneck.OUR_RECEIVE_WINDOW, verdicts.get(0).bottleneck);
    assertEquals(0.5, verdicts.get(0).share, 1e-9);
    assertTrue(verdicts.get(0).evidence,
        verdicts.get(0).evidence.contains("100 times in 200 DATA frames (3072 KiB/s received)"));

    LeanConnectionStats burstEnds = at(START + SECOND, 1)
        .add(Figure.PEER_FILLED_STREAM_WINDOW, QpsDoctor.MIN_WINDOW_FILLS - 1)
        .addFramesIn(FrameType.DATA, 10).build();
    assertTrue(QpsDoctor.diagnose(start, burstEnds).isEmpty());
    LeanConnectionStats rare = at(START + SECOND, 1)
        .add(Figure.PEER_FILLED_STREAM_WINDOW, 10)
        .addFramesIn(FrameType.DATA, 10 * QpsDoctor.DATA_FRAMES_PER_FILL + 1).build();
    assertTrue(QpsDoctor.diagnose(start, rare).isEmpty());
  }

  @Test
  public void windowVerdictEstimatesTheBandwidthDelayProduct() {
    LeanConnectionStats start = at(START, 1).build();
    LeanConnectionStats later = at(START + SECOND, 1)
        .add(Figure.BYTES_WRITTEN, 10L << 20)
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 900_000_000L)
        .add(Figure.PING_ACKS_RECEIVED, 2).add(Figure.PING_RTT_NANOS_TOTAL, 4_000_000L).build();
    String evidence = QpsDoctor.diagnose(start, later).get(0).evidence;
    assertTrue(evidence, evidence.contains("PING round trip 2000 us, so throughput x round trip"
        + " is 20 KiB"));
  }

  @Test
  public void busyPollerThreadIsSaturated() {
    LeanConnectionStats start = at(START, 40).add(Figure.LOOP_THREADS, 1)
        .add(Figure.LOOP_BUSY_NANOS, 3 * SECOND).build();
    LeanConnectionStats later = at(START + 2 * SECOND, 40).add(Figure.LOOP_THREADS, 1)
        .add(Figure.LOOP_CHANNELS_OWNED, 41)
        .add(Figure.LOOP_BUSY_NANOS, 3 * SECOND + 1_940_000_000L)
        .add(Figure.LOOP_TASKS_RUN, 5000).add(Figure.READ_SYSCALLS, 80_000).build();
    List<Verdict> verdicts = QpsDoctor.diagnose(start, later);
    assertEquals(verdicts.toString(), 1, verdicts.size());
    assertEquals(Bottleneck.EVENT_LOOP_SATURATED, verdicts.get(0).bottleneck);
    assertEquals(0.97, verdicts.get(0).share, 1e-9);
    assertTrue(verdicts.get(0).evidence, verdicts.get(0).evidence.contains(
        "poller threads 97% busy on 1 thread (41 channels on them, 2500 tasks/s, 40000 reads/s)"));
    assertTrue(verdicts.get(0).advice.contains("pollerThreads"));
  }

  @Test
  public void saturatedLoopsEvidenceHasTheWritersQueueWait() {
    LeanConnectionStats start = at(START, 40).add(Figure.LOOP_THREADS, 1)
        .add(Figure.QUEUE_WAIT_SAMPLED_ITEMS, 500).add(Figure.QUEUE_WAIT_NANOS, 500 * 10_000L)
        .add(Figure.QUEUE_OBSERVED_NANOS, 40 * SECOND).add(Figure.QUEUE_DEPTH_NANOS, SECOND)
        .build();
    long observed = 40 * 2 * SECOND;
    LeanConnectionStats later = at(START + 2 * SECOND, 40).add(Figure.LOOP_THREADS, 1)
        .add(Figure.LOOP_BUSY_NANOS, 1_960_000_000L)
        .add(Figure.QUEUE_WAIT_SAMPLED_ITEMS, 500 + 1600)
        .add(Figure.QUEUE_WAIT_NANOS, 500 * 10_000L + 1600 * 250_000L)
        .max(Figure.QUEUE_WAIT_NANOS_MAX, 900_000)
        .add(Figure.QUEUE_OBSERVED_NANOS, 40 * SECOND + observed)
        .add(Figure.QUEUE_DEPTH_NANOS, SECOND + 3 * observed).build();
    List<Verdict> verdicts = QpsDoctor.diagnose(start, later);
    assertEquals(Bottleneck.EVENT_LOOP_SATURATED, verdicts.get(0).bottleneck);
    // Only the window's samples count: 250 us, not the earlier 10 us ones.
    assertTrue(verdicts.get(0).evidence, verdicts.get(0).evidence.contains("frames waited 250 us "
        + "on average in the writer's queue (longest sampled 900 us), 3.0 items queued"));
    LeanConnectionStats quiet = at(START + 2 * SECOND, 40).add(Figure.LOOP_THREADS, 1)
        .add(Figure.LOOP_BUSY_NANOS, 1_960_000_000L).build();
    assertTrue(QpsDoctor.diagnose(at(START, 40).add(Figure.LOOP_THREADS, 1).build(), quiet)
        .get(0).evidence.indexOf("writer's queue") < 0);
  }

  @Test
  public void pollerBusyTimeIsSharedOverItsThreads() {
    LeanConnectionStats start = at(START, 4).add(Figure.LOOP_THREADS, 2).build();
    LeanConnectionStats oneOfTwo = at(START + SECOND, 4).add(Figure.LOOP_THREADS, 2)
        .add(Figure.LOOP_BUSY_NANOS, SECOND).build();
    assertTrue("one of two threads busy is half the capacity",
        QpsDoctor.diagnose(start, oneOfTwo).isEmpty());
    LeanConnectionStats both = at(START + SECOND, 4).add(Figure.LOOP_THREADS, 2)
        .add(Figure.LOOP_BUSY_NANOS, 1_900_000_000L).build();
    List<Verdict> verdicts = QpsDoctor.diagnose(start, both);
    assertEquals(Bottleneck.EVENT_LOOP_SATURATED, verdicts.get(0).bottleneck);
    assertEquals(0.95, verdicts.get(0).share, 1e-9);
  }

  @Test
  public void executorQueueWaitIsTheApplication() {
    LeanConnectionStats start = at(START, 1).build();
    LeanConnectionStats.Builder later = at(START + SECOND, 1)
        .add(Figure.EXECUTOR_TASKS, 1600).add(Figure.EXECUTOR_SAMPLED_TASKS, 100)
        .add(Figure.EXECUTOR_QUEUE_WAIT_NANOS, 100 * 30_000_000L)
        .add(Figure.EXECUTOR_RUN_NANOS, 100 * 10_000_000L);
    for (int i = 0; i < 98; i++) {
      later.record(LeanConnectionStats.Histogram.EXECUTOR_QUEUE_WAIT_NANOS, 20_000_000L);
    }
    later.record(LeanConnectionStats.Histogram.EXECUTOR_QUEUE_WAIT_NANOS, 40_000_000L);
    later.record(LeanConnectionStats.Histogram.EXECUTOR_QUEUE_WAIT_NANOS, 40_000_000L);
    List<Verdict> verdicts = QpsDoctor.diagnose(start, later.build());
    assertEquals(verdicts.toString(), 1, verdicts.size());
    Verdict v = verdicts.get(0);
    assertEquals(Bottleneck.APPLICATION_LIMITED, v.bottleneck);
    assertEquals(0.75, v.share, 1e-9);
    // 40 ms lies in the bucket [2^25, 2^26) ns: the p99 is reported as that bucket's top.
    assertTrue(v.evidence, v.evidence.contains("queue 30.0 ms on average, p99 67.1 ms (75% of "
        + "queue wait plus run); handlers ran 10.0 ms on average, 16.00 executor threads busy"));
    assertTrue(v.advice, v.advice.contains("executor more threads"));
  }

  @Test
  public void shortOrRareExecutorWaitsAreNotALimit() {
    LeanConnectionStats start = at(START, 1).build();
    LeanConnectionStats quick = at(START + SECOND, 1).add(Figure.EXECUTOR_SAMPLED_TASKS, 1000)
        .add(Figure.EXECUTOR_QUEUE_WAIT_NANOS, 1000 * 50_000L)
        .add(Figure.EXECUTOR_RUN_NANOS, 1000 * 10_000L).build();
    assertTrue(QpsDoctor.diagnose(start, quick).isEmpty());
    LeanConnectionStats rare = at(START + SECOND, 1)
        .add(Figure.EXECUTOR_SAMPLED_TASKS, QpsDoctor.MIN_EXECUTOR_SAMPLES - 1)
        .add(Figure.EXECUTOR_QUEUE_WAIT_NANOS, SECOND).build();
    assertTrue(QpsDoctor.diagnose(start, rare).isEmpty());
  }

  @Test
  public void gcPausesNamedAboveATenthOfTheTime() {
    LeanConnectionStats start = at(START, 1).add(Figure.GC_PAUSES, 10)
        .add(Figure.GC_PAUSE_NANOS, SECOND).build();
    LeanConnectionStats later = at(START + SECOND, 1).add(Figure.GC_PAUSES, 19)
        .add(Figure.GC_PAUSE_NANOS, SECOND + 180_000_000L).build();
    List<Verdict> verdicts = QpsDoctor.diagnose(start, later);
    assertEquals(verdicts.toString(), 1, verdicts.size());
    assertEquals(Bottleneck.GC, verdicts.get(0).bottleneck);
    assertTrue(verdicts.get(0).evidence,
        verdicts.get(0).evidence.contains(
            "GC: 18% of wall time in pauses (9 collections, 20.0 ms"));
    LeanConnectionStats little = at(START + SECOND, 1).add(Figure.GC_PAUSES, 12)
        .add(Figure.GC_PAUSE_NANOS, SECOND + 50_000_000L).build();
    assertTrue(QpsDoctor.diagnose(start, little).isEmpty());
  }

  @Test
  public void percentileIsTheTopOfTheBucketHoldingTheRank() {
    LeanConnectionStats.Builder b = LeanConnectionStats.builder(0);
    for (long v = 1; v <= 100; v++) {
      b.record(LeanConnectionStats.Histogram.BYTES_PER_READ, v);
    }
    LeanConnectionStats s = b.build();
    assertEquals(100, s.histogramCount(LeanConnectionStats.Histogram.BYTES_PER_READ));
    assertEquals(63, s.percentile(LeanConnectionStats.Histogram.BYTES_PER_READ, 0.5));
    assertEquals(127, s.percentile(LeanConnectionStats.Histogram.BYTES_PER_READ, 0.99));
    assertEquals(1, s.percentile(LeanConnectionStats.Histogram.BYTES_PER_READ, 0));
    assertEquals(0, s.percentile(LeanConnectionStats.Histogram.FRAMES_PER_READ, 0.5));
    assertEquals(0, LeanConnectionStats.bucketOf(0));
    assertEquals(1, LeanConnectionStats.bucketOf(1));
    assertEquals(2, LeanConnectionStats.bucketOf(3));
    assertEquals(3, LeanConnectionStats.bucketOf(4));
    assertEquals(LeanConnectionStats.HISTOGRAM_BUCKETS - 1,
        LeanConnectionStats.bucketOf(Long.MAX_VALUE));
  }

  @Test
  public void pauseCollectorsAreTheStopTheWorldBeans() {
    assertTrue(ConnectionStatsGroup.isPauseCollector("G1 Young Generation"));
    assertTrue(ConnectionStatsGroup.isPauseCollector("G1 Old Generation"));
    assertTrue(ConnectionStatsGroup.isPauseCollector("ZGC Major Pauses"));
    assertTrue(!ConnectionStatsGroup.isPauseCollector("G1 Concurrent GC"));
    assertTrue(!ConnectionStatsGroup.isPauseCollector("ZGC Major Cycles"));
    assertTrue(!ConnectionStatsGroup.isPauseCollector("Shenandoah Cycles"));
  }

  @Test
  public void peerWindowBelowTheBdpGetsTheWindowToSet() {
    LeanConnectionStats start = at(START, 1).add(Figure.PING_ACKS_RECEIVED, 5)
        .add(Figure.PING_RTT_NANOS_TOTAL, 5 * SECOND).build();
    LeanConnectionStats.Builder later = at(START + SECOND, 1)
        .add(Figure.BYTES_WRITTEN, 40L << 20)
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 800_000_000L)
        .add(Figure.PEER_INITIAL_WINDOW_BYTES, 16_384)
        .add(Figure.PING_ACKS_RECEIVED, 5 + 2)
        .add(Figure.PING_RTT_NANOS_TOTAL, 5 * SECOND + 800_000);
    List<Verdict> verdicts = QpsDoctor.diagnose(start, later.build());
    assertEquals(verdicts.toString(), 1, verdicts.size());
    Verdict v = verdicts.get(0);
    assertEquals(Bottleneck.WINDOW_BELOW_BDP, v.bottleneck);
    assertEquals(0.8, v.share, 1e-9);
    // 40 MiB/s x 400 us (the round trips in the sample, not the earlier slow ones) = 16.4 KiB.
    assertTrue(v.evidence, v.evidence.contains("the peer's stream window is 16 KiB and each "
        + "connection moved 16 KiB per PING round trip (400 us x 40 MiB/s), streams blocked on it "
        + "80% of the time"));
    assertTrue(v.advice, v.advice.equals(
        "raise the peer's flowControlWindow to at least 64 KiB (flowControlWindow(65536))"));

    LeanConnectionStats fastPath = at(START + SECOND, 1)
        .add(Figure.BYTES_WRITTEN, 40L << 20)
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 800_000_000L)
        .add(Figure.PEER_INITIAL_WINDOW_BYTES, 16_384)
        .add(Figure.PING_ACKS_RECEIVED, 5 + 2).add(Figure.PING_RTT_NANOS_TOTAL, 5 * SECOND + 20_000)
        .build();
    assertEquals("10 us round trips move 410 B per trip: the window is not below the BDP",
        Bottleneck.PEER_STREAM_WINDOW, QpsDoctor.diagnose(start, fastPath).get(0).bottleneck);
  }

  @Test
  public void ourWindowBelowTheBdpGetsOurWindowToSet() {
    LeanConnectionStats start = at(START, 2).build();
    LeanConnectionStats later = at(START + SECOND, 2)
        .add(Figure.PEER_FILLED_STREAM_WINDOW, 100).addFramesIn(FrameType.DATA, 200)
        .add(Figure.BYTES_READ, 2 * (3L << 20)).add(Figure.OUR_WINDOW_BYTES, 65_536)
        .add(Figure.PING_ACKS_RECEIVED, 4).add(Figure.PING_RTT_NANOS_TOTAL, 4 * 20_000_000L)
        .build();
    List<Verdict> verdicts = QpsDoctor.diagnose(start, later);
    assertEquals(verdicts.toString(), 1, verdicts.size());
    Verdict v = verdicts.get(0);
    assertEquals(Bottleneck.WINDOW_BELOW_BDP, v.bottleneck);
    assertTrue(v.evidence, v.evidence.contains("our receive window is 64 KiB and each connection "
        + "moved 61 KiB per PING round trip (20000 us x 3072 KiB/s), the peer filled it 100 "
        + "times"));
    assertEquals("raise our flowControlWindow to at least 128 KiB (flowControlWindow(131072))",
        v.advice);
  }

  @Test
  public void suggestedWindowIsTwiceRoundedUpToAPowerOfTwo() {
    assertEquals(2 << 20, QpsDoctor.suggestedWindow(1 << 20));
    assertEquals(4 << 20, QpsDoctor.suggestedWindow((1 << 20) + 1));
    assertEquals(Integer.MAX_VALUE, QpsDoctor.suggestedWindow(3e9));
  }

  @Test
  public void noTimeBetweenSnapshotsMeansNoVerdict() {
    assertTrue(QpsDoctor.diagnose(IDLE_START, IDLE_START).isEmpty());
  }
}
