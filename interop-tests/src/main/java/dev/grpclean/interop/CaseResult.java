package dev.grpclean.interop;

import javax.annotation.Nullable;

/**
 * One run of one interop case: its printed line is {@code PASS|FAIL <case> <millis>ms [reason]}.
 * A timed-out run failed and may still hold the thread it ran on.
 *
 * <p>Immutable.
 */
record CaseResult(
    String testCase, boolean passed, long millis, @Nullable String reason, boolean timedOut) {
  String line() {
    return (passed ? "PASS " : "FAIL ") + testCase + " " + millis + "ms"
        + (reason == null ? "" : " " + reason);
  }
}
