package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** {@code strace -c} tables to call and error counts, on recorded strace 6.1 output. */
public class StraceSummaryTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);

  /** Recorded: a non-blocking socketpair read until EAGAIN, under {@code strace -f -c}. */
  private static final String SMALL = ""
      + "% time     seconds  usecs/call     calls    errors syscall\n"
      + "------ ----------- ----------- --------- --------- ----------------\n"
      + " 78.23    0.132568        1657        80        40 wait4\n"
      + "  1.16    0.001968           5       385           read\n"
      + "  0.08    0.000143           4        30           write\n"
      + "  0.07    0.000112           1        78           pread64\n"
      + "  0.05    0.000079           2        39           futex\n"
      + "  0.02    0.000027           2        10         5 recvfrom\n"
      + "  0.01    0.000022           4         5           sendto\n"
      + "  0.00    0.000006           6         1           epoll_create1\n"
      + "------ ----------- ----------- --------- --------- ----------------\n"
      + "100.00    0.134925          21       628        45 total\n";

  @Test
  public void rowsGiveCallsAndErrors() {
    StraceSummary s = StraceSummary.parse(SMALL);
    assertEquals(385, s.calls("read"));
    assertEquals(0, s.errors("read"));
    assertEquals(10, s.calls("recvfrom"));
    assertEquals(5, s.errors("recvfrom"));
    assertEquals(80, s.calls("wait4"));
    assertEquals(40, s.errors("wait4"));
    assertEquals(0, s.calls("epoll_wait"));
    // The total row is not a syscall; the sum of the rows is the total.
    assertEquals(0, s.calls("total"));
    assertEquals(628, s.totalCalls());
  }

  @Test
  public void familiesAddSocketCallsOfEveryKindButPositionalFileIo() {
    StraceSummary s = StraceSummary.parse(SMALL);
    assertEquals(385 + 10, s.calls(StraceSummary.READS));
    assertEquals(5, s.errors(StraceSummary.READS));
    assertEquals(30 + 5, s.calls(StraceSummary.WRITES));
  }

  /** The recorded table's figures, read off the file. */
  private static final long RECORDED_READS = 391;
  private static final long RECORDED_READ_ERRORS = 0;
  private static final long RECORDED_WRITES = 299;
  private static final long RECORDED_EPOLL_WAITS = 299;
  private static final long RECORDED_FUTEXES = 43590;

  @Test
  public void recordedJvmTableUnderLoad() throws IOException {
    // A lean server JVM under the unary bench, strace -f -c -p for the measured window.
    StraceSummary s = StraceSummary.parse(resource("strace-lean-server.txt"));
    assertEquals(s.calls("read") + s.calls("readv"), s.calls(StraceSummary.READS));
    assertEquals(RECORDED_READS, s.calls("read"));
    assertEquals(RECORDED_READ_ERRORS, s.errors("read"));
    assertEquals(RECORDED_WRITES, s.calls("write"));
    assertEquals(RECORDED_EPOLL_WAITS, s.calls("epoll_wait"));
    assertEquals(RECORDED_FUTEXES, s.calls("futex"));
    assertEquals(5166, s.errors("futex"));
    assertEquals(53144, s.totalCalls());
  }

  @Test
  public void tablesOfSeveralPersonalitiesAddUp() {
    String text = "System call usage summary for 64 bit mode:\n" + SMALL
        + "System call usage summary for 32 bit mode:\n"
        + "% time     seconds  usecs/call     calls    errors syscall\n"
        + "------ ----------- ----------- --------- --------- ----------------\n"
        + "100.00    0.000010           1         7         2 read\n"
        + "------ ----------- ----------- --------- --------- ----------------\n"
        + "100.00    0.000010           1         7         2 total\n";
    StraceSummary s = StraceSummary.parse(text);
    assertEquals(392, s.calls("read"));
    assertEquals(2, s.errors("read"));
  }

  @Test
  public void straceMessagesAndBlankLinesAreNotRows() {
    StraceSummary s = StraceSummary.parse("strace: Process 4242 attached with 31 threads\n\n"
        + SMALL + "strace: Process 4242 detached\n");
    assertEquals(628, s.totalCalls());
  }

  @Test
  public void aTableWithNoRowsIsEmptyNotAnError() {
    StraceSummary s = StraceSummary.parse(""
        + "% time     seconds  usecs/call     calls    errors syscall\n"
        + "------ ----------- ----------- --------- --------- ----------------\n"
        + "100.00    0.000000           0         0           total\n");
    assertEquals(0, s.totalCalls());
  }

  @Test
  public void textWithoutATableIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> StraceSummary.parse("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not "
            + "permitted\n"));
    assertEquals("not a strace -c summary (no '% time ... syscall' heading)", e.getMessage());
  }

  @Test
  public void jsonListsEveryRow() {
    JsonObject o = StraceSummary.parse(SMALL).toJson();
    assertEquals(8, o.size());
    assertEquals(10, o.getAsJsonObject("recvfrom").get("calls").getAsLong());
    assertEquals(5, o.getAsJsonObject("recvfrom").get("errors").getAsLong());
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = StraceSummaryTest.class.getResourceAsStream(name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
