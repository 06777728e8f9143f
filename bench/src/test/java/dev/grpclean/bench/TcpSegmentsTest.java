package dev.grpclean.bench;

import static org.junit.Assert.assertArrayEquals;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** {@code ss -tinH} output to each side's data segments, on fixture text. */
public class TcpSegmentsTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);

  private static final String SS = ""
      + "0      0      127.0.0.1:60958 127.0.0.1:43591\n"
      + "\t bbr wscale:10,10 rto:204 rtt:0.015/0.012 mss:32768 bytes_sent:500 segs_out:7 "
      + "segs_in:6 data_segs_out:5 data_segs_in:3 delivered:6 app_limited\n"
      + "0      0      127.0.0.1:43591 127.0.0.1:60958\n"
      + "\t bbr wscale:10,10 rto:204 mss:32768 bytes_received:500 segs_out:5 segs_in:7 "
      + "data_segs_in:5 data_segs_out:3\n"
      + "0      0      127.0.0.1:43591 127.0.0.1:60960\n"
      + "\t bbr mss:32768 segs_out:40 data_segs_out:20\n"
      + "0      0      127.0.0.1:50000 127.0.0.1:8080\n"
      + "\t bbr mss:32768 segs_out:999 data_segs_out:999\n";

  @Test
  public void sumsServerAndClientEndsByPort() {
    // Server ends (local port 43591): 3 + 20; client end (peer port 43591): 5; 8080 ignored.
    assertArrayEquals(new long[] {23, 5}, TcpSegments.parse(SS, 43591));
  }

  @Test
  public void aSocketWithoutDataSegmentsCountsZero() {
    assertArrayEquals(new long[] {0, 0}, TcpSegments.parse(
        "0 0 127.0.0.1:1000 127.0.0.1:2000\n\t bbr mss:32768 segs_out:2 segs_in:2\n", 1000));
  }
}
