package dev.grpclean.transport.contract;

import dev.grpclean.transport.LeanTransportStats;
import java.time.Duration;

/**
 * The project's memory invariant: once no call is in progress, no buffer is leased from the
 * transport's pools. The last write's lease is returned just after its bytes reach the socket, so
 * this waits, with a bound, for the counter to reach zero.
 *
 * <p>The counter is process-wide, so a lease one test leaks stays visible to every later test in
 * the JVM. The test that leaks fails; later tests fail only if they leak more, so a report names
 * the culprit instead of every test after it.
 *
 * <p>Thread-safe.
 */
public final class LeanLeases {
  /** Bound on the wait for the last lease to come back. */
  public static final Duration RETURN_WAIT = Duration.ofSeconds(5);

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
              + LeanTransportStats.describe() + leakSites());
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
                + LeanTransportStats.describe() + leakSites());
  }

  /** Where the outstanding leases were taken, when the pools run in leak-detection mode. */
  private static String leakSites() {
    java.util.List<String> sites = new java.util.ArrayList<>();
    sites.addAll(dev.grpclean.transport.pool.Pools.io().outstandingLeaseSites());
    sites.addAll(dev.grpclean.transport.pool.Pools.heap().outstandingLeaseSites());
    return sites.isEmpty() ? "" : "\n" + String.join("\n", sites);
  }
}
