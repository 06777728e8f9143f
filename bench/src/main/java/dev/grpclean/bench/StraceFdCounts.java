package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Read-like and write-like syscalls ({@link StraceSummary#READS}, {@link StraceSummary#WRITES})
 * split by the kind of file they were made on, from strace's regular output with {@code -y}
 * (each descriptor printed with its path, e.g. {@code read(45<socket:[987654]>, ...)}): the
 * summary table counts a {@code read} of a socket, of a wake-up eventfd and of a procfs file
 * alike, and a bench child reads procfs at the edges of its window. Kinds:
 * <ul>
 *   <li>{@link Kind#SOCKET}: {@code socket:[inode]} (or a protocol name such as {@code TCP:[...]}
 *       with {@code -yy}): the transport's network I/O;</li>
 *   <li>{@link Kind#WAKEUP}: {@code anon_inode:[eventfd]} and {@code pipe:[...]}: a selector's
 *       wake-up (a JDK {@code Selector.wakeup()} or Netty's {@code eventfd_write} is one write,
 *       clearing it one read), and the bench's own stdin/stdout lines (a few per window);</li>
 *   <li>{@link Kind#OTHER}: files (procfs, jars), timerfds, everything else.</li>
 * </ul>
 * A call split by another thread's output ({@code read(...<unfinished ...>} then
 * {@code <... read resumed> ...) = 5}) counts once, its result taken from the resumed half. A read
 * that returned {@code -1} (EAGAIN on an empty non-blocking socket) counts as failed.
 *
 * <p>Thread-compatible: feed lines from one thread.
 */
final class StraceFdCounts {
  /** What a descriptor is. */
  enum Kind {
    SOCKET, WAKEUP, OTHER;

    static Kind of(String path) {
      if (path.startsWith("socket:") || path.matches("(TCP|TCPv6|UDP|UDPv6|UNIX|UNIX-STREAM|"
          + "NETLINK)(:.*)?")) {
        return SOCKET;
      }
      if (path.equals("anon_inode:[eventfd]") || path.startsWith("pipe:")) {
        return WAKEUP;
      }
      return OTHER;
    }
  }

  /**
   * The thread that made a call: {@code N } when strace writes to a file ({@code -o}), {@code [pid
   * N] } on a terminal, nothing when it traces one thread.
   */
  private static final String PID = "^(?:\\[pid\\s+(\\d+)\\]\\s+|(\\d+)\\s+)?";
  /** {@code N name(fd<path>, ...}: a call's first (or only) half. */
  private static final Pattern CALL = Pattern.compile(PID + "([a-z_0-9]+)\\((\\d+)<([^>]*)>");
  /** {@code N <... name resumed>...}: the second half of a split call. */
  private static final Pattern RESUMED =
      Pattern.compile(PID + "<\\.\\.\\. ([a-z_0-9]+) resumed>");
  private static final String UNFINISHED = "<unfinished ...>";

  /** [kind][0 read-like, 1 write-like]. */
  private final long[][] calls = new long[Kind.values().length][2];
  private final long[] failedReads = new long[Kind.values().length];
  /** pid to {kind, read 0 / write 1} of its call waiting for its resumed half. */
  private final Map<String, int[]> unfinished = new HashMap<>();

  /** Counts one line of strace's output; lines that are not such calls are skipped. */
  void accept(String line) {
    Matcher call = CALL.matcher(line);
    if (call.find()) {
      int direction = direction(call.group(3));
      if (direction < 0) {
        return;
      }
      Kind kind = Kind.of(call.group(5));
      calls[kind.ordinal()][direction]++;
      if (line.stripTrailing().endsWith(UNFINISHED)) {
        unfinished.put(pid(call), new int[] {kind.ordinal(), direction});
      } else {
        result(kind.ordinal(), direction, line);
      }
      return;
    }
    Matcher resumed = RESUMED.matcher(line);
    if (resumed.find() && direction(resumed.group(3)) >= 0) {
      int[] pending = unfinished.remove(pid(resumed));
      if (pending != null) {
        result(pending[0], pending[1], line);
      }
    }
  }

  /** Read-like calls on {@code kind}. */
  long reads(Kind kind) {
    return calls[kind.ordinal()][0];
  }

  /** Write-like calls on {@code kind}. */
  long writes(Kind kind) {
    return calls[kind.ordinal()][1];
  }

  /** Read-like calls on {@code kind} that returned -1. */
  long failedReads(Kind kind) {
    return failedReads[kind.ordinal()];
  }

  /** {@code {"socket": {"reads": 1, "failedReads": 0, "writes": 2}, ...}}. */
  JsonObject toJson() {
    JsonObject o = new JsonObject();
    for (Kind k : Kind.values()) {
      JsonObject c = new JsonObject();
      c.addProperty("reads", reads(k));
      c.addProperty("failedReads", failedReads(k));
      c.addProperty("writes", writes(k));
      o.add(k.name().toLowerCase(java.util.Locale.ROOT), c);
    }
    return o;
  }

  private void result(int kind, int direction, String line) {
    int eq = line.lastIndexOf(" = ");
    if (direction == 0 && eq >= 0 && line.startsWith("-1", eq + 3)) {
      failedReads[kind]++;
    }
  }

  /** 0 read-like, 1 write-like, -1 neither. */
  private static int direction(String syscall) {
    return StraceSummary.READS.contains(syscall) ? 0
        : StraceSummary.WRITES.contains(syscall) ? 1 : -1;
  }

  private static String pid(Matcher m) {
    return m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : "";
  }
}
