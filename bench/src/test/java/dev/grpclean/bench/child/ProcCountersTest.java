package dev.grpclean.bench.child;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/** procfs parsing on fixture text, the window deltas on a fixture directory, and /proc/self. */
public class ProcCountersTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);
  @Rule public final TemporaryFolder folder = new TemporaryFolder();

  private static String io(long syscr, long syscw) {
    return "rchar: 123456\nwchar: 654321\nsyscr: " + syscr + "\nsyscw: " + syscw
        + "\nread_bytes: 4096\nwrite_bytes: 0\ncancelled_write_bytes: 0\n";
  }

  private static String status(String name, long voluntary, long involuntary) {
    return "Name:\t" + name + "\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\n"
        + "VmRSS:\t  123456 kB\nThreads:\t2\n"
        + "Cpus_allowed_list:\t0-1\nvoluntary_ctxt_switches:\t" + voluntary
        + "\nnonvoluntary_ctxt_switches:\t" + involuntary + "\n";
  }

  @Test
  public void parsesSyscrAndSyscwOfAnIoFile() {
    assertArrayEquals(new long[] {812345, 97}, ProcCounters.parseIo(io(812345, 97)));
  }

  @Test
  public void ioWithoutSyscallLinesIsNull() {
    assertNull(ProcCounters.parseIo("rchar: 1\nwchar: 2\n"));
    assertNull(ProcCounters.parseIo("syscr: 12\nsyscw: twelve\n"));
  }

  @Test
  public void parsesBothContextSwitchCountsWithoutMixingThemUp() {
    // "voluntary_ctxt_switches:" is also the tail of "nonvoluntary_ctxt_switches:".
    assertArrayEquals(new long[] {7031, 12}, ProcCounters.parseCtxSwitches(status("x", 7031, 12)));
    assertArrayEquals(new long[] {3, 5}, ProcCounters.parseCtxSwitches(
        "nonvoluntary_ctxt_switches:\t5\nvoluntary_ctxt_switches:\t3\n"));
    assertNull(ProcCounters.parseCtxSwitches("nonvoluntary_ctxt_switches:\t5\n"));
  }

  @Test
  public void threadNamesGroupByDroppingDigits() {
    assertEquals("grpc-default-executor-#", ProcCounters.group("grpc-default-executor-12\n"));
    assertEquals("lean-poller-#-#", ProcCounters.group("lean-poller-3-0"));
    assertEquals("?", ProcCounters.group(null));
  }

  @Test
  public void windowCountsDeltasNewThreadsFromBirthAndGroupsByName() throws IOException {
    Path proc = folder.getRoot().toPath();
    write(proc.resolve("io"), io(1000, 500));
    thread(proc, "11", "poller-1", io(300, 200), status("poller-1", 40, 4));
    thread(proc, "12", "executor-1", io(10, 0), status("executor-1", 100, 1));
    thread(proc, "13", "dies", io(5, 5), status("dies", 9, 9));
    ProcCounters counters = new ProcCounters(proc);
    counters.mark();

    write(proc.resolve("io"), io(1700, 900));
    thread(proc, "11", "poller-1", io(800, 500), status("poller-1", 90, 6));
    thread(proc, "12", "executor-1", io(10, 0), status("executor-1", 130, 1));
    thread(proc, "14", "executor-2", io(0, 2), status("executor-2", 20, 3));
    deleteThread(proc, "13");
    JsonObject o = counters.sinceMark();

    assertEquals(700, o.get("readSyscalls").getAsLong());
    assertEquals(400, o.get("writeSyscalls").getAsLong());
    // poller 50 + 2, executor-1 30 + 0, executor-2 (new) 20 + 3; the exited thread is lost.
    assertEquals(100, o.get("voluntaryCtxSwitches").getAsLong());
    assertEquals(5, o.get("involuntaryCtxSwitches").getAsLong());
    assertEquals(105, o.get("ctxSwitches").getAsLong());
    JsonObject by = o.getAsJsonObject("byThread");
    JsonObject executors = by.getAsJsonObject("executor-#");
    assertEquals(2, executors.get("threads").getAsLong());
    assertEquals(50, executors.get("voluntary").getAsLong());
    assertEquals(2, executors.get("writes").getAsLong());
    assertEquals(500, by.getAsJsonObject("poller-#").get("reads").getAsLong());
    assertFalse(by.has("dies"));
  }

  @Test
  public void withoutProcfsTheWindowIsEmpty() {
    ProcCounters counters = new ProcCounters(folder.getRoot().toPath().resolve("missing"));
    counters.mark();
    assertEquals(0, counters.sinceMark().size());
  }

  @Test
  public void thisJvmCountsItsOwnWritesAndSwitches() throws Exception {
    if (!Files.exists(Path.of("/proc/self/io"))) {
      return; // Not Linux: nothing to read.
    }
    ProcCounters counters = new ProcCounters();
    counters.mark();
    Path file = folder.newFile().toPath();
    try (var out = Files.newOutputStream(file)) {
      for (int i = 0; i < 50; i++) {
        out.write(i); // Unbuffered: one write(2) each.
      }
    }
    Thread t = new Thread(() -> {});
    t.start();
    t.join(); // The main thread blocks: at least one voluntary switch.
    JsonObject o = counters.sinceMark();
    assertTrue(o.toString(), o.get("writeSyscalls").getAsLong() >= 50);
    assertTrue(o.toString(), o.get("voluntaryCtxSwitches").getAsLong() >= 1);
  }

  private static void thread(Path proc, String tid, String name, String io, String status)
      throws IOException {
    Path task = proc.resolve("task").resolve(tid);
    Files.createDirectories(task);
    write(task.resolve("io"), io);
    write(task.resolve("status"), status);
    write(task.resolve("comm"), name + "\n");
  }

  private static void deleteThread(Path proc, String tid) throws IOException {
    Path task = proc.resolve("task").resolve(tid);
    for (String f : new String[] {"io", "status", "comm"}) {
      Files.delete(task.resolve(f));
    }
    Files.delete(task);
  }

  private static void write(Path file, String text) throws IOException {
    Files.write(file, text.getBytes(StandardCharsets.US_ASCII));
  }
}
