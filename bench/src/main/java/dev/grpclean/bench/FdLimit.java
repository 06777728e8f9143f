package dev.grpclean.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The hard limit on open files of this process, which the child JVMs inherit (HotSpot raises
 * each JVM's soft limit to it at start-up). Read from {@code /proc/self/limits}; Linux only.
 *
 * <p>Thread-safe (stateless).
 */
final class FdLimit {
  private FdLimit() {}

  /** The hard limit, or -1 when unknown (not Linux, or "unlimited"). */
  static long hard() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
        if (line.startsWith("Max open files")) {
          String[] words = line.substring("Max open files".length()).trim().split("\\s+");
          return "unlimited".equals(words[1]) ? -1 : Long.parseLong(words[1]);
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }
}
