package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2ConnectionError;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class ResetBudgetTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);

  private static final long WINDOW = TimeUnit.SECONDS.toNanos(10);

  @Test
  public void budgetIsSpentWithinOneWindow() throws Exception {
    ResetBudget budget = new ResetBudget(3, WINDOW);
    long t = 123_456_789L;
    budget.onStreamReset(t);
    budget.onStreamReset(t + 1);
    budget.onStreamReset(t + WINDOW);
    Http2ConnectionError e =
        assertThrows(Http2ConnectionError.class, () -> budget.onStreamReset(t + WINDOW));
    assertEquals(ErrorCode.ENHANCE_YOUR_CALM, e.code());
    assertTrue(e.getMessage(), e.getMessage().contains("4 against 0 completed in 10000 ms"));
  }

  @Test
  public void aNewWindowStartsAtTheFirstResetAfterTheLastOneExpired() throws Exception {
    ResetBudget budget = new ResetBudget(2, WINDOW);
    long t = -5L; // nanoTime may be negative
    budget.onStreamReset(t);
    budget.onStreamReset(t);
    long later = t + WINDOW + 1;
    budget.onStreamReset(later);
    budget.onStreamReset(later + WINDOW);
    assertThrows(Http2ConnectionError.class, () -> budget.onStreamReset(later + WINDOW));
  }

  @Test
  public void completedStreamsEarnResetsInTheirWindow() throws Exception {
    ResetBudget budget = new ResetBudget(2, WINDOW);
    long t = 1000;
    budget.onStreamCompleted(t); // before any reset: no window, no credit
    budget.onStreamReset(t);
    budget.onStreamReset(t);
    for (int i = 0; i < 5; i++) {
      budget.onStreamCompleted(t + i);
    }
    for (int i = 0; i < 5; i++) {
      budget.onStreamReset(t + i); // a client cancelling half its calls is fine
    }
    assertThrows(Http2ConnectionError.class, () -> budget.onStreamReset(t + 6));
    // The next window starts afresh: credit does not carry over.
    budget.onStreamCompleted(t + WINDOW + 1);
    budget.onStreamReset(t + 2 * WINDOW);
    budget.onStreamReset(t + 2 * WINDOW);
    assertThrows(Http2ConnectionError.class, () -> budget.onStreamReset(t + 2 * WINDOW));
  }

  @Test
  public void zeroTurnsTheBudgetOff() throws Exception {
    ResetBudget budget = new ResetBudget(0, WINDOW);
    for (int i = 0; i < 100_000; i++) {
      budget.onStreamReset(i);
    }
  }
}
