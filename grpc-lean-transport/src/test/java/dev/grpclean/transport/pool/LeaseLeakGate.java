package dev.grpclean.transport.pool;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * The suite-wide leak gate: registered with the JUnit Platform (META-INF/services), it checks the
 * process-wide pools after every test class and again when the whole run is over. A class that
 * leaves leases behind is named with the sites where they were taken (the suite runs with
 * {@code -Dgrpclean.pool.leakDetection=true}); if any lease is still out at the end, the test JVM
 * exits with status 1, which fails the build even when every test passed on its own.
 *
 * <p>Waits are bounded polls: a connection's last write returns its lease just after the test
 * that caused it has finished.
 *
 * <p>Thread-safe enough for the Platform, which notifies one listener from one thread at a time.
 */
public final class LeaseLeakGate implements TestExecutionListener {
  /** How long leases may take to come back after a class or the run finishes. */
  private static final long RETURN_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

  private final List<String> leakyClasses = new ArrayList<>();
  /** Leases out at the start of the current class (an earlier leak must not blame it). */
  private long outstandingAtClassStart;

  @Override
  public void executionStarted(TestIdentifier id) {
    if (isTestClass(id)) {
      outstandingAtClassStart = outstanding();
    }
  }

  @Override
  public void executionFinished(TestIdentifier id, TestExecutionResult result) {
    if (!isTestClass(id)) {
      return;
    }
    long before = outstandingAtClassStart;
    if (!awaitOutstandingAtMost(before)) {
      String report = id.getDisplayName() + " left " + (outstanding() - before)
          + " lease(s) outstanding: " + describe();
      leakyClasses.add(report);
      System.err.println("LEASE LEAK: " + report);
    }
  }

  @Override
  public void testPlanExecutionFinished(TestPlan plan) {
    if (awaitOutstandingAtMost(0)) {
      return;
    }
    System.err.println("LEASE LEAK: " + outstanding() + " lease(s) still outstanding after the "
        + "whole run: " + describe() + "\nclasses that left leases: " + leakyClasses);
    System.err.flush();
    // Listeners cannot fail a run; a test JVM that does not end cleanly fails the build.
    Runtime.getRuntime().halt(1);
  }

  private static boolean isTestClass(TestIdentifier id) {
    return id.isContainer() && id.getSource().map(s -> s instanceof
        org.junit.platform.engine.support.descriptor.ClassSource).orElse(false);
  }

  private static boolean awaitOutstandingAtMost(long bound) {
    long deadline = System.nanoTime() + RETURN_WAIT_NANOS;
    while (outstanding() > bound) {
      if (System.nanoTime() - deadline > 0) {
        return false;
      }
      LockSupport.parkNanos(POLL_NANOS);
    }
    return true;
  }

  private static long outstanding() {
    long n = 0;
    for (BufferPool pool : Pools.all()) {
      n += pool.leasesOutstanding();
    }
    return n;
  }

  private static String describe() {
    StringBuilder b = new StringBuilder();
    for (BufferPool pool : Pools.all()) {
      b.append(b.length() == 0 ? "" : " ").append(pool);
    }
    for (BufferPool pool : Pools.all()) {
      for (String site : pool.outstandingLeaseSites()) {
        b.append("\n  ").append(pool.name()).append(' ').append(site);
      }
    }
    return b.toString();
  }
}
