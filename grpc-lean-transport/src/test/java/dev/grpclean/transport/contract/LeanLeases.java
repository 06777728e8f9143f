package dev.grpclean.transport.contract;

import dev.grpclean.transport.LeanTransportStats;
import java.time.Duration;

/**
 * The project's memory invariant: once no call is in progress, no buffer is leased from the
 * transport's pools. The last write's lease is returned just after its bytes reach the socket,
 * so this waits, with a bound, for the counter to reach zero.
 *
 * <p>Thread-safe (stateless).
 */
public final class LeanLeases {
  /** Bound on the wait for the last lease to come back. */
  public static final Duration RETURN_WAIT = Duration.ofSeconds(5);

  private LeanLeases() {}

  /** Asserts that every lease is returned within {@link #RETURN_WAIT}. */
  public static void assertAllReturned() {
    Conditions.await(
        () -> LeanTransportStats.leasedBytes() == 0,
        RETURN_WAIT,
        () ->
            "leased bytes still "
                + LeanTransportStats.leasedBytes()
                + " in "
                + LeanTransportStats.leasesOutstanding()
                + " leases: "
                + LeanTransportStats.describe());
  }
}
