package dev.grpclean.bench;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The progress line on stderr: rewritten in place on a terminal, one line per step otherwise
 * (logs and tests).
 *
 * <p>Thread-compatible.
 */
final class Progress {
  private final PrintWriter err;
  private final boolean inPlace;
  private final long startNanos = System.nanoTime();
  private int lastLength;

  Progress(PrintWriter err, boolean inPlace) {
    this.err = err;
    this.inPlace = inPlace;
  }

  void update(String line) {
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);
    String text = String.format(Locale.ROOT, "[%d:%02d] %s", seconds / 60, seconds % 60, line);
    if (inPlace) {
      err.print("\r" + text + " ".repeat(Math.max(0, lastLength - text.length())));
      lastLength = text.length();
    } else {
      err.println(text);
    }
    err.flush();
  }

  /** Clears the line so the table starts clean. */
  void clear() {
    if (inPlace && lastLength > 0) {
      err.print("\r" + " ".repeat(lastLength) + "\r");
      err.flush();
      lastLength = 0;
    }
  }
}
