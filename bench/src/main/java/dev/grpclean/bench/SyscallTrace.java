package dev.grpclean.bench;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code strace -f -c} attached to the server and the client JVM for one measured window
 * ({@code --syscalls strace}): every syscall of every thread is counted by name, so the socket
 * I/O of both transports is seen whichever calls they use (procfs's {@code syscr}/{@code syscw}
 * miss Netty's {@code recvfrom}/{@code sendto}). The price is speed: strace stops the traced
 * thread at every syscall, so the traced run is slower than an untraced one and its QPS is not
 * comparable with procfs-mode runs; compare transports within one strace-mode run.
 *
 * <p>strace runs as {@code strace -f -C -y -s 0}: every call's line with its descriptors' paths
 * (so that {@link StraceFdCounts} can tell a socket read from a wake-up eventfd's or a procfs
 * file's) and, on detach, the summary table ({@link StraceSummary}). {@link #attach} returns
 * once strace reports both processes attached (all their threads; threads started later are
 * followed by {@code -f}); {@link #stop} sends strace SIGTERM, on which it detaches and writes its
 * table, then counts the lines, keeps the table as {@code <logDir>/<run>-<role>.strace} and
 * deletes the lines (megabytes per run).
 *
 * <p>Not thread-safe: one caller.
 */
final class SyscallTrace implements AutoCloseable {
  /** Attaching stops every thread of a JVM once; on a loaded 2-core machine that takes a while. */
  private static final long ATTACH_TIMEOUT_SECONDS = 60;
  /** Detaching and writing the table. */
  private static final long STOP_TIMEOUT_SECONDS = 60;

  /** One JVM's counts: the summary table and the read/write calls by descriptor kind. */
  static final class Traced {
    final StraceSummary table;
    final StraceFdCounts byFd;

    Traced(StraceSummary table, StraceFdCounts byFd) {
      this.table = table;
      this.byFd = byFd;
    }
  }

  /** Both sides' counts: what {@link #stop} returns. */
  static final class Summaries {
    final Traced server;
    final Traced client;

    Summaries(Traced server, Traced client) {
      this.server = server;
      this.client = client;
    }
  }

  private final Tracer server;
  private final Tracer client;

  private SyscallTrace(Tracer server, Tracer client) {
    this.server = server;
    this.client = client;
  }

  /**
   * The path of {@code binary}: itself when it names a path (has a {@code /}) and is executable,
   * else the first executable of that name in {@code pathEnv}'s directories; null when none is.
   */
  static Path locate(String binary, String pathEnv) {
    if (binary.contains("/")) {
      Path p = Path.of(binary);
      return Files.isRegularFile(p) && Files.isExecutable(p) ? p : null;
    }
    if (pathEnv == null) {
      return null;
    }
    for (String dir : pathEnv.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, binary);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  /** Attaches {@code strace} to both JVMs; their tables go to {@code <logDir>/<run>-*.strace}. */
  static SyscallTrace attach(Path strace, Path logDir, String run, ChildJvm server,
      ChildJvm client) throws BenchException {
    Tracer s = Tracer.start(strace, server.pid(), logDir.resolve(run + "-server.strace"),
        "server JVM");
    Tracer c = null;
    try {
      c = Tracer.start(strace, client.pid(), logDir.resolve(run + "-client.strace"),
          "client JVM");
      s.awaitAttached();
      c.awaitAttached();
      return new SyscallTrace(s, c);
    } catch (BenchException | RuntimeException e) {
      s.kill();
      if (c != null) {
        c.kill();
      }
      throw e;
    }
  }

  /** Detaches from both JVMs and returns their tables. */
  Summaries stop() throws BenchException {
    server.signalStop();
    client.signalStop();
    return new Summaries(server.summary(), client.summary());
  }

  /** Makes sure no strace is left running (after {@link #stop}, or when the run failed). */
  @Override
  public void close() {
    server.kill();
    client.kill();
  }

  /** One strace process and what it said on stderr. */
  private static final class Tracer {
    private final Process process;
    /** The table is kept here; strace writes to {@code <table>.lines} first. */
    private final Path table;
    private final String what;
    private final List<String> stderr = new ArrayList<>();
    private final CompletableFuture<Void> attached = new CompletableFuture<>();

    private Tracer(Process process, Path table, String what) {
      this.process = process;
      this.table = table;
      this.what = what;
    }

    static Tracer start(Path strace, long pid, Path table, String what) throws BenchException {
      Process p;
      try {
        Files.createDirectories(table.getParent());
        Files.deleteIfExists(table);
        p = new ProcessBuilder(strace.toString(), "-f", "-C", "-y", "-s", "0",
            "-o", lines(table).toString(), "-p", Long.toString(pid))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      } catch (IOException e) {
        throw new BenchException("cannot start " + strace + " on the " + what + ": "
            + e.getMessage());
      }
      Tracer t = new Tracer(p, table, what + " (pid " + pid + ")");
      Thread reader = new Thread(t::readStderr, "bench-strace-" + pid);
      reader.setDaemon(true);
      reader.start();
      return t;
    }

    /** strace says "Process N attached" (with "with K threads" for a JVM) once it is in. */
    private void readStderr() {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          synchronized (stderr) {
            stderr.add(line);
          }
          if (line.contains(" attached")) {
            attached.complete(null);
          }
        }
      } catch (IOException e) {
        // strace is gone: reported below.
      }
      attached.completeExceptionally(new IOException("strace exited"));
    }

    void awaitAttached() throws BenchException {
      try {
        attached.get(ATTACH_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        throw failure("could not attach");
      } catch (TimeoutException e) {
        throw failure("did not attach within " + ATTACH_TIMEOUT_SECONDS + " s");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure("was interrupted while attaching");
      }
    }

    /** SIGTERM: strace detaches from every thread and writes its table. */
    void signalStop() {
      process.destroy();
    }

    Traced summary() throws BenchException {
      Path lines = lines(table);
      try {
        if (!process.waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
          throw failure("did not detach within " + STOP_TIMEOUT_SECONDS + " s");
        }
        StraceFdCounts byFd = new StraceFdCounts();
        StringBuilder tableText = new StringBuilder();
        try (BufferedReader r = Files.newBufferedReader(lines, StandardCharsets.UTF_8)) {
          for (String line; (line = r.readLine()) != null; ) {
            if (tableText.length() > 0 || line.startsWith("% time")) {
              tableText.append(line).append('\n');
            } else {
              byFd.accept(line);
            }
          }
        }
        StraceSummary summary = StraceSummary.parse(tableText.toString());
        Files.writeString(table, tableText, StandardCharsets.UTF_8);
        Files.delete(lines);
        return new Traced(summary, byFd);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure("was interrupted while detaching");
      } catch (IOException | IllegalArgumentException e) {
        throw failure("wrote no table to " + lines + " (" + e.getMessage() + ")");
      }
    }

    private static Path lines(Path table) {
      return table.resolveSibling(table.getFileName() + ".lines");
    }

    void kill() {
      if (process.isAlive()) {
        process.destroyForcibly();
        try {
          process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    private BenchException failure(String how) {
      kill();
      StringBuilder m = new StringBuilder("strace on the ").append(what).append(' ').append(how);
      synchronized (stderr) {
        if (!stderr.isEmpty()) {
          m.append("; it said:");
          for (String line : stderr.subList(Math.max(0, stderr.size() - 8), stderr.size())) {
            m.append("\n    ").append(line);
          }
        }
      }
      if (how.contains("attach")) {
        m.append("\n  (attaching needs ptrace rights: root, or kernel.yama.ptrace_scope=0)");
      }
      return new BenchException(m.toString());
    }
  }
}
