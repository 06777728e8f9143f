package dev.grpclean.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The socket I/O counting library of {@code --syscalls preload}: {@code syscount.c} (kept in
 * {@code bench/src/main/c}, shipped on the class path beside this class) compiled with the
 * machine's C compiler into a shared library, and the environment that loads it into a child JVM
 * ({@code LD_PRELOAD}) and names its counter file ({@link PreloadCounters}).
 *
 * <p>Unlike strace, it stops nothing: beside the real call, each call costs a look-up of the
 * descriptor's kind in a cache (an fstat the first time a descriptor number is seen) and an
 * atomic add, so the run goes at full speed.
 *
 * <p>Immutable.
 */
final class PreloadShim {
  /** The environment variable naming the counter file; syscount.c reads the same name. */
  static final String FILE_ENV = "GRPCLEAN_SYSCOUNT_FILE";
  /** The C source on the class path, relative to this class. */
  static final String SOURCE = "c/syscount.c";
  private static final long COMPILE_TIMEOUT_SECONDS = 120;

  final Path library;

  private PreloadShim(Path library) {
    this.library = library;
  }

  /**
   * Compiles the library into {@code dir} with {@code cc} (e.g. {@code /usr/bin/gcc}).
   *
   * @throws BenchException when the source is missing or the compiler fails (its output quoted)
   */
  static PreloadShim compile(Path cc, Path dir) throws BenchException {
    Path source = dir.resolve("syscount.c");
    Path library = dir.resolve("libgrpclean-syscount.so");
    try (InputStream in = PreloadShim.class.getResourceAsStream(SOURCE)) {
      if (in == null) {
        throw new BenchException("the preload library's source " + SOURCE
            + " is not on the class path beside " + PreloadShim.class.getName()
            + " (bench/src/main/c/syscount.c; rebuild the bench module)");
      }
      Files.createDirectories(dir);
      Files.write(source, in.readAllBytes());
    } catch (IOException e) {
      throw new BenchException("cannot write the preload library's source to " + source + ": "
          + e.getMessage());
    }
    List<String> command = List.of(cc.toString(), "-O2", "-Wall", "-shared", "-fPIC",
        "-o", library.toString(), source.toString(), "-ldl");
    String output;
    int status;
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(COMPILE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new BenchException(cc + " did not compile " + source + " within "
            + COMPILE_TIMEOUT_SECONDS + " s");
      }
      status = p.exitValue();
    } catch (IOException e) {
      throw new BenchException("cannot run " + cc + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted while compiling " + source);
    }
    if (status != 0 || !Files.isRegularFile(library)) {
      throw new BenchException(String.join(" ", command) + " failed (status " + status + ")"
          + (output.isEmpty() ? "" : ":\n" + output));
    }
    return new PreloadShim(library);
  }

  /**
   * The variables of a child JVM that loads the library and counts into {@code counterFile}:
   * {@code LD_PRELOAD} (ours first, then any the bench itself was given) and {@link #FILE_ENV}.
   */
  Map<String, String> env(Path counterFile) {
    Map<String, String> env = new LinkedHashMap<>();
    String inherited = System.getenv("LD_PRELOAD");
    List<String> preload = new ArrayList<>();
    preload.add(library.toAbsolutePath().toString());
    if (inherited != null && !inherited.isBlank()) {
      preload.add(inherited.strip());
    }
    env.put("LD_PRELOAD", String.join(" ", preload));
    env.put(FILE_ENV, counterFile.toAbsolutePath().toString());
    return env;
  }
}
