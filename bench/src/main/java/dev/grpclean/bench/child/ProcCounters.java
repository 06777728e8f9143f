package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * This JVM's read/write syscalls and context switches from Linux procfs, as deltas between a
 * {@link #mark()} and {@link #sinceMark()}.
 *
 * <p><b>Syscalls</b>: {@code syscr} and {@code syscw} of {@code /proc/<pid>/io}, which count the
 * process's calls (every thread's, exited threads included) of the kernel's read and write
 * families: {@code read}, {@code readv}, {@code pread64}, {@code preadv(2)} and {@code write},
 * {@code writev}, {@code pwrite64}, {@code pwritev(2)} ({@code sendfile} and
 * {@code copy_file_range} count on both), whatever the file: socket reads and writes (the JDK's
 * {@code SocketChannel} and Netty's epoll transport both use read/write/writev on TCP sockets),
 * wake-ups through an eventfd or a pipe (a JDK {@code Selector.wakeup()} or Netty's
 * {@code eventfd_write} is one write, draining it one read), timerfd reads, and the bench's own
 * stdin/stdout and these procfs reads (a few dozen per window). Calls that return 0 or EAGAIN count
 * too. Not counted: {@code recvfrom}/{@code recvmsg}/{@code sendto}/{@code sendmsg},
 * {@code epoll_wait}/{@code epoll_ctl}, {@code futex} and every other syscall.
 *
 * <p><b>Context switches</b>: voluntary (the thread blocked: a futex park, {@code epoll_wait}, a
 * blocking read) and involuntary (preempted) from {@code /proc/<pid>/task/<tid>/status}, summed
 * over the threads alive at the read; a thread's share is counted from the mark (or its birth),
 * and a thread that exits inside the window loses its share.
 *
 * <p>Where procfs is missing (not Linux), {@link #sinceMark()} returns an empty object. Each
 * window also carries a per-thread-group breakdown ({@code byThread}: thread names with digits
 * dropped) so a report can say which threads make the calls.
 *
 * <p>Thread-compatible.
 */
public final class ProcCounters {
  /** One thread's counters: syscr, syscw, voluntary, involuntary. */
  static final int READS = 0;
  static final int WRITES = 1;
  static final int VOLUNTARY = 2;
  static final int INVOLUNTARY = 3;

  private final Path proc;
  private long[] markProcess;
  private Map<String, long[]> markThreads = new HashMap<>();

  /** Counters of this JVM ({@code /proc/self}). */
  public ProcCounters() {
    this(Path.of("/proc/self"));
  }

  /** Counters of the process whose procfs directory is {@code proc} ({@code /proc/<pid>}). */
  ProcCounters(Path proc) {
    this.proc = proc;
  }

  /**
   * Starts a window. The threads are read first and the process's {@code io} last, and
   * {@link #sinceMark()} reads {@code io} first: the procfs reads themselves stay out of the
   * window's syscall counts (but for the one read of {@code io}).
   */
  public void mark() {
    markThreads = readThreads(new HashMap<>());
    markProcess = readIo(proc.resolve("io"));
  }

  /**
   * readSyscalls, writeSyscalls, voluntaryCtxSwitches, involuntaryCtxSwitches and ctxSwitches
   * since the mark, and {@code byThread}; empty when procfs cannot be read.
   */
  public JsonObject sinceMark() {
    JsonObject o = new JsonObject();
    long[] now = readIo(proc.resolve("io"));
    if (now == null || markProcess == null) {
      return o;
    }
    Map<String, String> names = new HashMap<>();
    Map<String, long[]> threads = readThreads(names);
    long voluntary = 0;
    long involuntary = 0;
    Map<String, long[]> byGroup = new TreeMap<>();
    for (Map.Entry<String, long[]> e : threads.entrySet()) {
      long[] before = markThreads.get(e.getKey());
      long[] d = new long[4];
      for (int i = 0; i < 4; i++) {
        d[i] = e.getValue()[i] - (before == null ? 0 : before[i]);
      }
      voluntary += d[VOLUNTARY];
      involuntary += d[INVOLUNTARY];
      long[] g = byGroup.computeIfAbsent(group(names.get(e.getKey())), k -> new long[5]);
      for (int i = 0; i < 4; i++) {
        g[i] += d[i];
      }
      g[4]++;
    }
    o.addProperty("readSyscalls", now[READS] - markProcess[READS]);
    o.addProperty("writeSyscalls", now[WRITES] - markProcess[WRITES]);
    o.addProperty("voluntaryCtxSwitches", voluntary);
    o.addProperty("involuntaryCtxSwitches", involuntary);
    o.addProperty("ctxSwitches", voluntary + involuntary);
    JsonObject by = new JsonObject();
    for (Map.Entry<String, long[]> e : byGroup.entrySet()) {
      long[] g = e.getValue();
      if (g[READS] + g[WRITES] + g[VOLUNTARY] + g[INVOLUNTARY] == 0) {
        continue;
      }
      JsonObject t = new JsonObject();
      t.addProperty("threads", g[4]);
      t.addProperty("reads", g[READS]);
      t.addProperty("writes", g[WRITES]);
      t.addProperty("voluntary", g[VOLUNTARY]);
      t.addProperty("involuntary", g[INVOLUNTARY]);
      by.add(e.getKey(), t);
    }
    o.add("byThread", by);
    return o;
  }

  /** syscr and syscw of an {@code io} file's text; null when either is missing. */
  static long[] parseIo(String text) {
    long reads = field(text, "syscr:");
    long writes = field(text, "syscw:");
    return reads < 0 || writes < 0 ? null : new long[] {reads, writes};
  }

  /** voluntary and nonvoluntary context switches of a {@code status} file; null if missing. */
  static long[] parseCtxSwitches(String text) {
    long voluntary = field(text, "voluntary_ctxt_switches:");
    long involuntary = field(text, "nonvoluntary_ctxt_switches:");
    return voluntary < 0 || involuntary < 0 ? null : new long[] {voluntary, involuntary};
  }

  /** A thread's name with its digits dropped, so a pool's threads add up in one group. */
  static String group(String name) {
    if (name == null) {
      return "?";
    }
    String g = name.strip().replaceAll("[0-9]+", "#");
    return g.isEmpty() ? "?" : g;
  }

  /** The number after {@code key} at the start of a line, or -1. */
  private static long field(String text, String key) {
    int at = 0;
    while ((at = text.indexOf(key, at)) >= 0) {
      if (at == 0 || text.charAt(at - 1) == '\n') {
        int start = at + key.length();
        int end = text.indexOf('\n', start);
        String value = (end < 0 ? text.substring(start) : text.substring(start, end)).strip();
        try {
          return Long.parseLong(value);
        } catch (NumberFormatException e) {
          return -1;
        }
      }
      at += key.length();
    }
    return -1;
  }

  private static long[] readIo(Path file) {
    String text = readText(file);
    return text == null ? null : parseIo(text);
  }

  /** Every live thread's {syscr, syscw, voluntary, involuntary}, by tid; names into names. */
  private Map<String, long[]> readThreads(Map<String, String> names) {
    Map<String, long[]> threads = new HashMap<>();
    try (DirectoryStream<Path> tasks = Files.newDirectoryStream(proc.resolve("task"))) {
      for (Path task : tasks) {
        String status = readText(task.resolve("status"));
        long[] switches = status == null ? null : parseCtxSwitches(status);
        if (switches == null) {
          continue; // The thread exited while we read.
        }
        String ioText = readText(task.resolve("io"));
        long[] io = ioText == null ? null : parseIo(ioText);
        String tid = task.getFileName().toString();
        threads.put(tid, new long[] {io == null ? 0 : io[READS], io == null ? 0 : io[WRITES],
            switches[0], switches[1]});
        String comm = readText(task.resolve("comm"));
        names.put(tid, comm == null ? "?" : comm);
      }
    } catch (IOException | RuntimeException e) {
      // No procfs: no per-thread figures.
    }
    return threads;
  }

  private static String readText(Path file) {
    try {
      return new String(Files.readAllBytes(file), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      return null;
    }
  }
}
