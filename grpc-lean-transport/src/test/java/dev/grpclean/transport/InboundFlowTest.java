package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Http2StreamError;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class InboundFlowTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Test
  public void chargeUpToTheWindowIsAllowed() throws Exception {
    InboundFlow flow = new InboundFlow(1000);
    flow.charge(1, 400);
    flow.charge(1, 600);
    assertEquals(0, flow.windowBytes());
  }

  @Test
  public void chargeBeyondTheWindowIsAFlowControlStreamError() throws Exception {
    InboundFlow flow = new InboundFlow(1000);
    flow.charge(5, 999);
    try {
      flow.charge(5, 2);
      fail("charged past the window");
    } catch (Http2StreamError e) {
      assertEquals(ErrorCode.FLOW_CONTROL_ERROR, e.code());
      assertEquals(5, e.streamId());
    }
    assertEquals("a rejected frame is not charged", 1, flow.windowBytes());
    assertEquals(999, flow.takeUnconsumed());
  }

  @Test
  public void windowUpdateIsDueExactlyWhenHalfTheInitialWindowIsConsumed() throws Exception {
    InboundFlow flow = new InboundFlow(1000);
    flow.charge(1, 1000);
    assertEquals(0, flow.consume(300));
    assertEquals(0, flow.consume(199));
    assertEquals(0, flow.windowBytes());
    assertEquals(500, flow.consume(1));
    assertEquals(500, flow.windowBytes());
    // The count starts over after an update.
    assertEquals(0, flow.consume(499));
    assertEquals(500, flow.consume(1));
    assertEquals(1000, flow.windowBytes());
  }

  @Test
  public void oddInitialWindowUpdatesAtItsHalfRoundedDown() throws Exception {
    InboundFlow flow = new InboundFlow(FrameType.DEFAULT_INITIAL_WINDOW);
    flow.charge(1, FrameType.DEFAULT_INITIAL_WINDOW);
    int half = FrameType.DEFAULT_INITIAL_WINDOW / 2;
    assertEquals(0, flow.consume(half - 1));
    assertEquals(half, flow.consume(1));
  }

  @Test
  public void oneLargeConsumeReturnsEverythingUnacknowledged() throws Exception {
    InboundFlow flow = new InboundFlow(1000);
    flow.charge(1, 900);
    assertEquals(0, flow.consume(100));
    assertEquals(800, flow.consume(700));
    assertEquals(900, flow.windowBytes());
  }

  @Test
  public void consumingMoreThanReceivedIsClamped() throws Exception {
    InboundFlow flow = new InboundFlow(1000);
    flow.charge(1, 100);
    assertEquals(0, flow.consume(10_000));
    assertEquals(900, flow.windowBytes());
    assertEquals(0, flow.takeUnconsumed());
  }

  @Test
  public void takeUnconsumedReturnsReceivedButUnconsumedBytesOnce() throws Exception {
    InboundFlow flow = new InboundFlow(1000);
    flow.charge(1, 300);
    flow.charge(1, 200);
    flow.consume(100);
    assertEquals(400, flow.takeUnconsumed());
    assertEquals(0, flow.takeUnconsumed());
    assertEquals("nothing left to consume", 0, flow.consume(400));
  }

  @Test
  public void heldUpdatesAreKeptBackAndAnnouncedOnResume() throws Exception {
    InboundFlow flow = new InboundFlow(1000);
    flow.charge(1, 800);
    flow.holdUpdates(true);
    assertEquals("held: no update", 0, flow.consume(800));
    assertEquals(200, flow.windowBytes());
    assertEquals("resumed: what was kept back", 800, flow.resumeUpdates());
    assertEquals(1000, flow.windowBytes());
  }

  @Test
  public void restrictionDeltaMayGoNegativeAndGrantRestoresTheWindow() throws Exception {
    InboundFlow flow = new InboundFlow(1000);
    flow.charge(1, 300);
    flow.applyInitialDelta(100 - 1000); // SETTINGS_INITIAL_WINDOW_SIZE 1000 -> 100, acked
    assertEquals(-200, flow.windowBytes());
    try {
      flow.charge(1, 1);
      fail("a negative window takes nothing (RFC 9113 §6.9.2)");
    } catch (Http2StreamError expected) {
      // the peer overran the restricted window
    }
    assertEquals(900, flow.grant(900));
    assertEquals(700, flow.windowBytes());
    // The restriction ends: the raise repeats the grant, so later updates absorb it and the
    // window settles where it would have been without the restriction.
    flow.applyInitialDelta(900);
    assertEquals(1600, flow.windowBytes());
    assertEquals(0, flow.grantedBytes());
    flow.charge(1, 700);
    assertEquals("the surplus is taken out of the update", 100, flow.consume(1000));
    assertEquals(1000, flow.windowBytes());
  }
}
