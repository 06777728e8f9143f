package dev.grpclean.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** One in-process run of the CLI with captured output, for tests. */
final class CliRun {
  /** Small, quick child JVMs: the tests check shape, not speed. */
  static final String TEST_JVM_FLAGS = "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";

  final int exitCode;
  final String out;
  final String err;
  final Path dir;

  private CliRun(int exitCode, String out, String err, Path dir) {
    this.exitCode = exitCode;
    this.out = out;
    this.err = err;
    this.dir = dir;
  }

  /** Runs {@code args} as given. */
  static CliRun raw(Path dir, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = BenchCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new CliRun(code, out.toString(), err.toString(), dir);
  }

  /** Runs {@code args} with output in {@code dir} and the small test JVMs. */
  static CliRun run(Path dir, String... args) {
    List<String> all = new ArrayList<>(Arrays.asList(args));
    all.addAll(List.of("--out", dir.toString(), "--jvm-flags", TEST_JVM_FLAGS));
    return raw(dir, all.toArray(new String[0]));
  }

  JsonObject json(String scenario) throws IOException {
    return JsonParser.parseString(
        Files.readString(dir.resolve(scenario + ".json"), StandardCharsets.UTF_8))
        .getAsJsonObject();
  }

  @Override
  public String toString() {
    return "exit " + exitCode + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
  }
}
