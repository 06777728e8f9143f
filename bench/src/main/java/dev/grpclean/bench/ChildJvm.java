package dev.grpclean.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.grpclean.bench.child.ChildMain;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One forked bench JVM ({@link ChildMain}) and the line protocol to it. It runs the same java
 * binary with the same class path as this JVM and the run's JVM flags; its stderr goes to a log
 * file that is quoted when it fails. A failure (exit, timeout, error reply) becomes a
 * {@link BenchException} naming the JVM, the command and the log's last lines.
 *
 * <p>Every live child is destroyed by {@link #close()} and, should this JVM die first, by a
 * shutdown hook. Not thread-safe: one caller at a time.
 */
final class ChildJvm implements AutoCloseable {
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
  private static final String EOF = "\u0000eof";
  private static final int LOG_LINES_QUOTED = 12;

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      for (Process p : LIVE) {
        p.destroyForcibly();
      }
    }, "bench-kill-children"));
  }

  private final String name;
  private final Process process;
  private final Path log;
  private final Writer stdin;
  private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
  private final JsonObject ready;

  private ChildJvm(String name, Process process, Path log, Duration startTimeout)
      throws BenchException {
    this.name = name;
    this.process = process;
    this.log = log;
    this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread reader = new Thread(this::readReplies, "bench-reader-" + process.pid());
    reader.setDaemon(true);
    reader.start();
    this.ready = await("start", startTimeout);
  }

  /**
   * Forks {@code ChildMain args...} with {@code jvmFlags} and waits for its ready line.
   * {@code name} names it in messages, e.g. {@code "server JVM (netty)"}.
   */
  static ChildJvm start(String name, List<String> jvmFlags, List<String> args, Path log,
      Duration startTimeout) throws BenchException {
    return start(name, jvmFlags, args, Map.of(), log, startTimeout);
  }

  /**
   * As {@link #start(String, List, List, Path, Duration)}, with {@code env} added to the
   * inherited environment (e.g. the {@code LD_PRELOAD} of {@link PreloadShim}).
   */
  static ChildJvm start(String name, List<String> jvmFlags, List<String> args,
      Map<String, String> env, Path log, Duration startTimeout) throws BenchException {
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmFlags);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(ChildMain.class.getName());
    command.addAll(args);
    Process process;
    try {
      Files.createDirectories(log.getParent());
      ProcessBuilder pb = new ProcessBuilder(command)
          .redirectError(ProcessBuilder.Redirect.to(log.toFile()));
      pb.environment().putAll(env);
      process = pb.start();
    } catch (IOException e) {
      throw new BenchException("cannot start the " + name + ": " + e.getMessage());
    }
    LIVE.add(process);
    try {
      return new ChildJvm(name, process, log, startTimeout);
    } catch (BenchException | RuntimeException e) {
      kill(process);
      throw e;
    }
  }

  /** The forked JVM's process id. */
  long pid() {
    return process.pid();
  }

  /** The JSON of the ready line (the server's has {@code port}). */
  JsonObject ready() {
    return ready;
  }

  /** Sends one command line and waits for its reply. */
  JsonObject call(String command, Duration timeout) throws BenchException {
    try {
      stdin.write(command + "\n");
      stdin.flush();
    } catch (IOException e) {
      throw failure(command, "could not be sent (" + e.getMessage() + ")");
    }
    return await(command, timeout);
  }

  private JsonObject await(String command, Duration timeout) throws BenchException {
    String line;
    try {
      line = replies.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure(command, "was interrupted");
    }
    if (line == null) {
      throw failure(command, "got no answer within " + timeout.toSeconds() + " s");
    }
    if (line.equals(EOF)) {
      String exit;
      try {
        exit = process.waitFor(5, TimeUnit.SECONDS)
            ? "exited with status " + process.exitValue() : "closed its output";
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        exit = "closed its output";
      }
      throw failure(command, "failed: the JVM " + exit);
    }
    if (line.startsWith("@@ERR ")) {
      throw failure(command, "failed: " + line.substring(6));
    }
    return JsonParser.parseString(line.substring(5)).getAsJsonObject();
  }

  private BenchException failure(String command, String what) {
    String verb = command.split(" ", 2)[0];
    StringBuilder message = new StringBuilder()
        .append(name).append(": '").append(verb).append("' ").append(what);
    List<String> tail = logTail();
    if (!tail.isEmpty()) {
      message.append("\n  last lines of ").append(log).append(':');
      for (String l : tail) {
        message.append("\n    ").append(l);
      }
    }
    kill(process);
    return new BenchException(message.toString());
  }

  /** The log's last lines without stack frames: the full traces stay in the file. */
  private List<String> logTail() {
    try {
      List<String> lines = new ArrayList<>();
      for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
        String t = line.trim();
        if (!t.startsWith("at ") && !(t.startsWith("...") && t.endsWith("more"))) {
          lines.add(line);
        }
      }
      return lines.subList(Math.max(0, lines.size() - LOG_LINES_QUOTED), lines.size());
    } catch (IOException e) {
      return List.of();
    }
  }

  private void readReplies() {
    try (BufferedReader r = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        if (line.startsWith("@@OK ") || line.startsWith("@@ERR ")) {
          replies.add(line);
        }
      }
    } catch (IOException e) {
      // The process died: reported as EOF below.
    }
    replies.add(EOF);
  }

  /** Asks the JVM to quit, then makes sure it is gone. */
  @Override
  public void close() {
    try {
      if (process.isAlive()) {
        stdin.write("quit\n");
        stdin.flush();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (IOException e) {
      // Already gone.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      kill(process);
    }
  }

  private static void kill(Process process) {
    process.destroyForcibly();
    try {
      process.waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    LIVE.remove(process);
  }
}
