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
  public void shortStallsAreNotALimit() {
    LeanConnectionStats later = at(START + SECOND, 1)
        .add(Figure.STREAM_WINDOW_BLOCKED_NANOS, 5 * SECOND + 200_000_000L).build();
    List<Verdict> verdicts = QpsDoctor.diagnose(IDLE_START, later);
    assertTrue(verdicts.toString(), verdicts.isEmpty());
    assertTrue(QpsDoctor.report(verdicts).startsWith("no transport-level limit found"));
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
  public void noTimeBetweenSnapshotsMeansNoVerdict() {
    assertTrue(QpsDoctor.diagnose(IDLE_START, IDLE_START).isEmpty());
  }
}
