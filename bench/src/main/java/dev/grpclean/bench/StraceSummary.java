package dev.grpclean.bench;

import com.google.gson.JsonObject;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The call and error counts of the table {@code strace -c} writes when it detaches: one row per
 * syscall ({@code % time, seconds, usecs/call, calls, [errors,] syscall}; the errors column is
 * blank where a syscall never failed), a dashed rule, and a {@code total} row. Rows of several
 * tables (strace prints one per personality, e.g. "System call usage summary for 32 bit mode")
 * are added up; lines that are not rows (headings, rules, strace's own messages) are skipped.
 *
 * <p>The families the bench reports ({@link #READS}, {@link #WRITES}) are those a transport may
 * move socket bytes with: the JDK's {@code SocketChannel} uses {@code read}/{@code write} (and the
 * {@code v} forms for scattering and gathering), Netty's epoll transport {@code recvfrom}/
 * {@code sendto} (strace's names for {@code recv}/{@code send}) and {@code writev}/
 * {@code sendmsg}. They also count the same calls on other files: an eventfd or pipe wake-up (a
 * JDK {@code Selector.wakeup()} or Netty's {@code eventfd_write} is one write, clearing it one
 * read) and the bench's own stdin/stdout lines. Positional file I/O ({@code pread64},
 * {@code pwrite64}) is never a socket's and is left out.
 *
 * <p>Immutable.
 */
final class StraceSummary {
  /** Read-like syscalls, under strace's names. */
  static final List<String> READS =
      List.of("read", "readv", "recv", "recvfrom", "recvmsg", "recvmmsg");
  /** Write-like syscalls, under strace's names. */
  static final List<String> WRITES =
      List.of("write", "writev", "send", "sendto", "sendmsg", "sendmmsg");
  /** Waiting for readiness: the JDK selector and Netty's epoll loop. */
  static final List<String> EPOLL_WAITS = List.of("epoll_wait", "epoll_pwait", "epoll_pwait2");

  /** Name to {calls, errors}. */
  private final Map<String, long[]> rows;

  private StraceSummary(Map<String, long[]> rows) {
    this.rows = rows;
  }

  /**
   * Parses {@code strace -c} output.
   *
   * @throws IllegalArgumentException when the text has no table heading (strace failed before it
   *     could write one)
   */
  static StraceSummary parse(String text) {
    Map<String, long[]> rows = new TreeMap<>();
    boolean heading = false;
    for (String line : text.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 2 && f[f.length - 1].equals("syscall") && f[0].equals("%")) {
        heading = true;
        continue;
      }
      // time%, seconds, usecs/call, calls, [errors,] name: the name is the last field, calls the
      // fourth; a row of the table has only numbers before its name.
      if (f.length < 5 || f.length > 6 || f[f.length - 1].equals("total")
          || !f[f.length - 1].matches("[a-z_0-9]+")) {
        continue;
      }
      long calls = number(f[3]);
      long errors = f.length == 6 ? number(f[4]) : 0;
      if (calls < 0 || errors < 0 || !decimal(f[0]) || !decimal(f[1]) || number(f[2]) < 0) {
        continue;
      }
      long[] row = rows.computeIfAbsent(f[f.length - 1], k -> new long[2]);
      row[0] += calls;
      row[1] += errors;
    }
    if (!heading) {
      throw new IllegalArgumentException("not a strace -c summary (no '% time ... syscall' "
          + "heading)");
    }
    return new StraceSummary(rows);
  }

  /** Calls of {@code syscall}; 0 when it was not made. */
  long calls(String syscall) {
    long[] row = rows.get(syscall);
    return row == null ? 0 : row[0];
  }

  /** Failed calls of {@code syscall} (EAGAIN for a read on an empty non-blocking socket). */
  long errors(String syscall) {
    long[] row = rows.get(syscall);
    return row == null ? 0 : row[1];
  }

  long calls(Collection<String> syscalls) {
    return syscalls.stream().mapToLong(this::calls).sum();
  }

  long errors(Collection<String> syscalls) {
    return syscalls.stream().mapToLong(this::errors).sum();
  }

  /** Every syscall made. */
  long totalCalls() {
    return rows.values().stream().mapToLong(r -> r[0]).sum();
  }

  /** {@code {"read": {"calls": 12, "errors": 3}, ...}} in name order. */
  JsonObject toJson() {
    JsonObject o = new JsonObject();
    for (Map.Entry<String, long[]> e : rows.entrySet()) {
      JsonObject row = new JsonObject();
      row.addProperty("calls", e.getValue()[0]);
      row.addProperty("errors", e.getValue()[1]);
      o.add(e.getKey(), row);
    }
    return o;
  }

  private static long number(String s) {
    if (!s.matches("[0-9]+")) {
      return -1;
    }
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static boolean decimal(String s) {
    return s.matches("[0-9]+(\\.[0-9]+)?");
  }
}
