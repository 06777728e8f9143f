package dev.grpclean.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Data segments each side of the bench's TCP connections has sent, from the kernel's
 * {@code tcp_info} as {@code ss -tin} prints it ({@code data_segs_out}): a transport-neutral count
 * of the writes that reached the wire. It is needed because {@code /proc/<pid>/io} sees only the
 * read/write family: Netty's epoll transport reads and writes its sockets with {@code recv} and
 * {@code send} (only its gathering writes use {@code writev}), which no procfs counter sees, while
 * the JDK's {@code SocketChannel} uses {@code read}/{@code write}. With TCP_NODELAY (both
 * transports) every write that carries bytes leaves as at least one segment, and as exactly one
 * when it is smaller than the MSS (loopback: 32 KiB or more), as a unary RPC's writes are; so for
 * unary this is the number of data-carrying write syscalls of each side. Reads have no such
 * counter.
 *
 * <p>Stateless.
 */
final class TcpSegments {
  private static final Pattern ADDRESSES =
      Pattern.compile("^\\S+\\s+\\S+\\s+(\\S+):(\\d+)\\s+(\\S+):(\\d+)");
  private static final Pattern DATA_SEGS_OUT = Pattern.compile("\\bdata_segs_out:(\\d+)");

  /** Index of the server's figure in {@link #sample}'s answer. */
  static final int SERVER = 0;
  static final int CLIENT = 1;

  private TcpSegments() {}

  /**
   * {server data segments out, client data segments out} summed over the established
   * connections to local {@code port}, or null where {@code ss} is missing or fails.
   */
  static long[] sample(int port) {
    try {
      Process p = new ProcessBuilder("ss", "-tinH", "state", "established",
          "( sport = :" + port + " or dport = :" + port + " )")
          .redirectErrorStream(true).start();
      String out;
      try (InputStream in = p.getInputStream()) {
        out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        return null;
      }
      return parse(out, port);
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * Parses {@code ss -tinH} output: a line with the addresses, then a line of figures, per
   * socket. A socket whose local port is {@code port} is the server's end; one whose peer port is
   * {@code port} the client's.
   */
  static long[] parse(String ssOutput, int port) {
    long[] sums = new long[2];
    int side = -1;
    for (String line : ssOutput.split("\n")) {
      Matcher a = ADDRESSES.matcher(line);
      if (a.find()) {
        side = Integer.parseInt(a.group(2)) == port ? SERVER
            : Integer.parseInt(a.group(4)) == port ? CLIENT : -1;
        continue;
      }
      Matcher m = DATA_SEGS_OUT.matcher(line);
      if (side >= 0 && m.find()) {
        sums[side] += Long.parseLong(m.group(1));
      }
    }
    return sums;
  }
}
