package dev.grpclean.transport.testing;

import dev.grpclean.transport.LeanTransportStats;
import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The project's memory invariant: once no call is in progress, no buffer is leased from the
 * transport's pools. The last write's lease is returned just after its bytes reach the socket, so
 * every check here waits, with a bound, for the counters to get there; no event announces it.
 *
 * <p>The counters are process-wide, so a lease one test leaks stays visible to every later test in
 * the JVM. {@link #assertAllReturned} fails the test that leaks and later tests only if they leak
 * more, so a report names the culprit instead of every test after it; {@link #baseline} and
 * {@link #assertBackTo} compare with the test's own starting point instead.
 *
 * <p>Thread-safe.
 */
public final class LeanLeases {
  /** Bound on the wait for the last lease to come back. */
  public static final Duration RETURN_WAIT = Duration.ofSeconds(5);
  /**
   * Poll interval of {@link #awaitOutstandingAtMost}: short, because a fuzz target waits once per
   * input; it waits at most a few polls, the bound is seconds.
   */
  private static final long OUTSTANDING_POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

  /** Bytes an earlier check found leaked and reported. */
  private static long reportedLeakBytes; // @GuardedBy("LeanLeases.class")

  private LeanLeases() {}

  /**
   * Asserts that every lease is returned within {@link #RETURN_WAIT}, apart from leaks an earlier
   * call already reported.
   */
  public static synchronized void assertAllReturned() {
    long alreadyReported = reportedLeakBytes;
    try {
      Conditions.await(
          () -> LeanTransportStats.leasedBytes() <= alreadyReported, RETURN_WAIT, () -> "");
    } catch (AssertionError notReturned) {
      long leased = LeanTransportStats.leasedBytes();
      reportedLeakBytes = Math.max(reportedLeakBytes, leased);
      throw new AssertionError(
          "not within "
              + RETURN_WAIT
              + ": leased bytes still "
              + leased
              + (alreadyReported > 0 ? " (" + alreadyReported + " leaked earlier)" : "")
              + " in "
              + LeanTransportStats.leasesOutstanding()
              + " leases: "
              + LeanTransportStats.describe() + sites());
    }
    // Leaks may come back later (a lease freed by a late cleanup); take the lower figure.
    reportedLeakBytes = Math.min(reportedLeakBytes, LeanTransportStats.leasedBytes());
  }

  /** Asserts that no buffer at all is leased, waiting up to {@link #RETURN_WAIT}. */
  public static void assertNoneLeased() {
    Conditions.await(
        () -> LeanTransportStats.leasedBytes() == 0,
        RETURN_WAIT,
        () ->
            "leased bytes still "
                + LeanTransportStats.leasedBytes()
                + " in "
                + LeanTransportStats.leasesOutstanding()
                + " leases: "
                + LeanTransportStats.describe() + sites());
  }

  /**
   * Bytes leased from both pools right now. A test takes this before its scenario and checks
   * {@link #assertBackTo} after.
   */
  public static long baseline() {
    return LeanTransportStats.leasedBytes();
  }

  /**
   * Waits (up to {@link #RETURN_WAIT}) until leased bytes are back at or below {@code baseline}.
   * At or below: a lease an earlier test had in flight when the baseline was taken may come back
   * meanwhile.
   */
  public static void assertBackTo(long baseline) {
    Conditions.await(
        () -> LeanTransportStats.leasedBytes() <= baseline,
        RETURN_WAIT,
        () -> "leased bytes " + LeanTransportStats.leasedBytes() + ", baseline " + baseline
            + ": " + LeanTransportStats.describe() + sites());
  }

  /**
   * Waits until at most {@code leasesBefore} leases (a count, not bytes) are outstanding in both
   * pools; fails after {@code wait}, naming where the leases still out were taken.
   */
  public static void awaitOutstandingAtMost(long leasesBefore, Duration wait) {
    Conditions.await(
        () -> LeanTransportStats.leasesOutstanding() <= leasesBefore,
        wait,
        OUTSTANDING_POLL_NANOS,
        () -> "leases outstanding " + LeanTransportStats.leasesOutstanding() + ", before "
            + leasesBefore + "; " + LeanTransportStats.describe() + sites());
  }

  /**
   * Where the outstanding leases were taken, one per line after a line break, when the pools run
   * in leak-detection mode (surefire turns it on); empty otherwise or when none is out.
   */
  public static String sites() {
    List<String> sites = new ArrayList<>();
    for (BufferPool pool : Pools.all()) {
      sites.addAll(pool.outstandingLeaseSites());
    }
    return sites.isEmpty() ? "" : "\n" + String.join("\n", sites);
  }
}
