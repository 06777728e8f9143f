package dev.grpclean.interop;

import java.util.List;
import java.util.Locale;

/**
 * One line of the soak server's samples file: what its JVM held at one instant. {@link
 * SoakServer} writes these, {@link SoakJudge} reads them back; the CSV header names the fields in
 * order. A figure the platform cannot give (file descriptors off Linux and macOS) is -1.
 *
 * <p>Immutable.
 *
 * @param kind periodic (taken on the sampling schedule, whatever the load) or idle (taken once at
 *     shutdown, after the connections drained)
 * @param uptimeSeconds since the server started
 * @param heapUsedBytes heap used right after a forced full GC: the live set
 * @param directBytes JDK direct buffers' memory (the lean I/O pool's buffers among them)
 * @param rssBytes resident set size, or -1; informational, never judged
 * @param leasedBytes bytes leased from the lean pools (I/O, inbound, outbound, heap) at that
 *     instant
 * @param leases leases outstanding in the lean pools
 * @param heapLeasedBytes the part of {@code leasedBytes} leased from the heap pool (on the heap)
 * @param ioPooledBytes direct bytes kept for reuse by the lean direct pools (I/O, inbound,
 *     outbound; bounded by their caps)
 * @param heapPooledBytes heap bytes kept for reuse by the lean heap pool (bounded by its cap)
 * @param threads live threads
 * @param fds open file descriptors, or -1
 * @param connections server transports ready and not yet terminated
 * @param connectionsTotal server transports that ever became ready
 * @param callsTotal server streams (calls) ever started: the judge tells load from idle by it
 */
record SoakSample(
    Kind kind,
    double uptimeSeconds,
    long heapUsedBytes,
    long directBytes,
    long rssBytes,
    long leasedBytes,
    long leases,
    long heapLeasedBytes,
    long ioPooledBytes,
    long heapPooledBytes,
    long threads,
    long fds,
    long connections,
    long connectionsTotal,
    long callsTotal) {
  static final String HEADER =
      "kind,uptime_s,heap_used_after_gc_bytes,direct_bytes,rss_bytes,leased_bytes,leases,"
          + "heap_leased_bytes,io_pooled_bytes,heap_pooled_bytes,threads,fds,connections,"
          + "connections_total,calls_total";
  private static final int FIELDS = HEADER.split(",").length;

  /** When a sample was taken. */
  enum Kind {
    PERIODIC,
    IDLE;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The part of {@code leasedBytes} leased from the direct pools (I/O, inbound, outbound). */
  long ioLeasedBytes() {
    return leasedBytes - heapLeasedBytes;
  }

  String toCsv() {
    return String.join(
        ",",
        kind.toString(),
        String.format(Locale.ROOT, "%.1f", uptimeSeconds),
        Long.toString(heapUsedBytes),
        Long.toString(directBytes),
        Long.toString(rssBytes),
        Long.toString(leasedBytes),
        Long.toString(leases),
        Long.toString(heapLeasedBytes),
        Long.toString(ioPooledBytes),
        Long.toString(heapPooledBytes),
        Long.toString(threads),
        Long.toString(fds),
        Long.toString(connections),
        Long.toString(connectionsTotal),
        Long.toString(callsTotal));
  }

  /**
   * Parses one line written by {@link #toCsv}.
   *
   * @throws IllegalArgumentException if the line is not one
   */
  static SoakSample parse(String line) {
    String[] f = line.trim().split(",", -1);
    if (f.length != FIELDS) {
      throw new IllegalArgumentException(
          "want " + FIELDS + " comma-separated fields, got " + f.length + ": " + line);
    }
    try {
      return new SoakSample(
          Kind.valueOf(f[0].toUpperCase(Locale.ROOT)),
          Double.parseDouble(f[1]),
          Long.parseLong(f[2]),
          Long.parseLong(f[3]),
          Long.parseLong(f[4]),
          Long.parseLong(f[5]),
          Long.parseLong(f[6]),
          Long.parseLong(f[7]),
          Long.parseLong(f[8]),
          Long.parseLong(f[9]),
          Long.parseLong(f[10]),
          Long.parseLong(f[11]),
          Long.parseLong(f[12]),
          Long.parseLong(f[13]),
          Long.parseLong(f[14]));
    } catch (IllegalArgumentException e) { // NumberFormatException is one
      throw new IllegalArgumentException("not a sample line: " + line, e);
    }
  }

  /** Parses a samples file's lines: the header, then one sample per line; blank lines skipped. */
  static List<SoakSample> parseAll(List<String> lines) {
    if (lines.isEmpty() || !lines.get(0).trim().equals(HEADER)) {
      throw new IllegalArgumentException("not a samples file: the first line is not " + HEADER);
    }
    return lines.stream().skip(1).filter(l -> !l.isBlank()).map(SoakSample::parse).toList();
  }
}
