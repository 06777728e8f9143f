package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.RawHttp2Client.Frame;
import dev.grpclean.transport.ServerKeepAliveTest.FakeScheduler;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.Server;
import io.grpc.internal.MaxConnectionIdleManager;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * {@link MaxConnectionIdle} on a fake clock: the idle shutdown at the instants grpc-core's {@code
 * MaxConnectionIdleManager} (which the server used before) picks, for random streams and clock
 * steps; at most one pending timer task; a stream open across the deadline postpones the shutdown
 * to max-idle after it ends; the check runs on the loop, so a task that fires while the loop is
 * behind does the right thing there; nothing pending or firing once stopped. And a real server
 * on a stepped clock: the graceful GOAWAY, PING, GOAWAY at max idle after its last stream.
 */
public class MaxConnectionIdleTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final long MAX_IDLE = 100;
  private static final Duration WAIT = RawHttp2Client.DEFAULT_WAIT;

  private final FakeScheduler timer = new FakeScheduler();
  /** The connection's loop: checks the timer hands over wait here until {@link #runLoop}. */
  private final ArrayDeque<Runnable> loop = new ArrayDeque<>();
  private final List<Long> closedAt = new ArrayList<>();
  private boolean loopRunsAtOnce = true;

  /** Same shutdown instants as grpc-core's manager; 3 seeds × 5,000 steps. */
  @Test
  public void sameInstantsAsGrpcCoreMaxConnectionIdleManager() {
    for (long seed = 1; seed <= 3; seed++) {
      Random random = new Random(seed);
      List<Long> reference = new ArrayList<>();
      closedAt.clear();
      MaxConnectionIdle idle = started();
      MaxConnectionIdleManager grpc = reference(reference);
      boolean open = false;
      int closes = 0;
      for (int step = 0; step < 5_000; step++) {
        if (random.nextInt(3) == 0) {
          timer.advance(random.nextInt((int) MAX_IDLE * 3 / 2));
        } else if (open) {
          idle.onStreamsIdle();
          grpc.onTransportIdle();
          open = false;
        } else {
          idle.onStreamsOpen();
          grpc.onTransportActive();
          open = true;
        }
        assertEquals("seed " + seed + " step " + step, reference, closedAt);
        assertTrue("at most one pending task", timer.live() <= 1);
        if (closedAt.size() > closes) {
          closes = closedAt.size();
          assertEquals("nothing pending after the shutdown", 0, timer.live());
          grpc.onTransportTermination();
          idle = started();
          grpc = reference(reference);
          open = false;
        }
      }
      assertTrue("seed " + seed + ": only " + closes + " idle shutdowns", closes > 100);
      idle.stop();
      grpc.onTransportTermination();
      assertEquals("nothing pending once stopped", 0, timer.live());
    }
  }

  @Test
  public void idleFromTheStartClosesAtMaxIdle() {
    started();
    timer.advance(MAX_IDLE - 1);
    assertEquals(List.of(), closedAt);
    timer.advance(1);
    assertEquals(List.of(MAX_IDLE), closedAt);
    assertEquals(0, timer.live());
  }

  @Test
  public void streamOpenAcrossTheDeadlinePostponesTheShutdownToMaxIdleAfterItEnds() {
    MaxConnectionIdle idle = started();
    timer.advance(10);
    idle.onStreamsOpen();
    timer.advance(500);
    assertEquals("no shutdown while a stream is open", List.of(), closedAt);
    assertFalse("the task that fired while the stream was open scheduled nothing",
        idle.pending());
    idle.onStreamsIdle(); // at 510
    timer.advance(MAX_IDLE - 1);
    assertEquals(List.of(), closedAt);
    timer.advance(1);
    assertEquals(List.of(510 + MAX_IDLE), closedAt);
  }

  @Test
  public void streamThatEndedBeforeTheDeadlineMovesItByTheRemainingTime() {
    MaxConnectionIdle idle = started();
    timer.advance(20);
    idle.onStreamsOpen();
    timer.advance(30);
    idle.onStreamsIdle(); // at 50: the first task, due at 100, fires early
    timer.advance(MAX_IDLE - 1);
    assertEquals(List.of(), closedAt);
    assertEquals(1, timer.live());
    timer.advance(1);
    assertEquals(List.of(50 + MAX_IDLE), closedAt);
  }

  @Test
  public void checkRunsOnTheLoopWhichMaySeeAStreamThatOpenedMeanwhile() {
    loopRunsAtOnce = false;
    MaxConnectionIdle idle = started();
    timer.advance(MAX_IDLE); // fired on the timer thread; the loop has not run it yet
    idle.onStreamsOpen(); // the loop reads a new stream first
    runLoop();
    assertEquals("a stream is open when the loop checks", List.of(), closedAt);
    idle.onStreamsIdle();
    timer.advance(MAX_IDLE);
    runLoop();
    assertEquals(List.of(2 * MAX_IDLE), closedAt);
  }

  @Test
  public void streamsEndingWhileAFiredCheckWaitsForTheLoopScheduleNoSecondTask() {
    loopRunsAtOnce = false;
    MaxConnectionIdle idle = started();
    idle.onStreamsOpen();
    timer.advance(MAX_IDLE); // fired; the check waits for the loop
    idle.onStreamsIdle(); // at 100, before the loop runs the check
    assertEquals("the fired task is still the pending one", 0, timer.live());
    runLoop(); // the check: idle since 100, so again in MAX_IDLE
    assertEquals(1, timer.live());
    timer.advance(MAX_IDLE);
    runLoop();
    assertEquals(List.of(2 * MAX_IDLE), closedAt);
  }

  @Test
  public void stopCancelsAndACheckAlreadyHandedToTheLoopDoesNothing() {
    loopRunsAtOnce = false;
    MaxConnectionIdle idle = started();
    timer.advance(MAX_IDLE);
    idle.stop(); // the transport terminated while the check waited for the loop
    runLoop();
    assertEquals(List.of(), closedAt);
    MaxConnectionIdle other = started();
    other.stop();
    assertEquals(0, timer.live());
    other.onStreamsOpen();
    other.onStreamsIdle();
    assertEquals("nothing scheduled once stopped", 0, timer.live());
  }

  /**
   * Idle from the start, and again once stream 1 has ended; on a stepped clock, so that the frames
   * are checked at each instant without sleeping, whatever the load of the machine (with the real
   * clock, stream 1 could come after the deadline on a loaded machine).
   */
  @Test
  public void realServerIdleWithoutStreamsIsClosedAfterMaxConnectionIdle() throws Exception {
    SteppedTimer timer = new SteppedTimer();
    Server server = LeanServerBuilder.forPort(0).maxConnectionIdle(1000, TimeUnit.MILLISECONDS)
        .timerForTests(timer, timer.ticker).addService(Echo.service()).build().start();
    try (RawHttp2Client c = RawHttp2Client.connect(server.getPort()).handshake()) {
      timer.advance(600, TimeUnit.MILLISECONDS); // idle since the start (0)
      BadInputTest.assertEchoOnRawConnection(c, 1, new byte[] {1}); // at 600
      c.pingRoundTrip(1); // the writer ended stream 1 as it sent the trailers, before this
      // The start's check fires at 1000 and finds the connection idle only since 600.
      timer.advance(999, TimeUnit.MILLISECONDS);
      timer.awaitTaskDueAt(TimeUnit.MILLISECONDS.toNanos(1600), WAIT.toMillis());
      c.pingRoundTrip(2);
      for (Frame f : c.received()) {
        assertTrue("closed before max idle after stream 1: " + c.received(),
            f.type != FrameType.GOAWAY);
      }
      timer.advance(1, TimeUnit.MILLISECONDS); // 1600
      Frame goAway = c.awaitGoAway();
      assertEquals(goAway.toString(), ErrorCode.NO_ERROR, goAway.errorCode());
      assertEquals(goAway.toString(), Integer.MAX_VALUE, goAway.lastStreamId());
      // Graceful: the server pings after its first GOAWAY, and once a live peer answers (the
      // clock stands still: not at its 1 s limit), sends the second GOAWAY and closes.
      Frame ping = c.awaitFrame(f -> f.type == FrameType.PING && !f.ack(), WAIT);
      c.send(RawFrames.frame(FrameType.PING, FrameType.ACK, 0, ping.payload));
      Frame last = c.awaitGoAway();
      assertEquals(last.toString(), ErrorCode.NO_ERROR, last.errorCode());
      assertEquals("the second GOAWAY names the stream served", 1, last.lastStreamId());
      c.awaitClosed(WAIT);
      assertTrue(c.closedByPeer());
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    LeanLeases.assertAllReturned();
  }

  private MaxConnectionIdle started() {
    MaxConnectionIdle idle = new MaxConnectionIdle(new MaxConnectionIdle.Owner() {
      @Override
      public ScheduledExecutorService maxIdleScheduler() {
        return timer;
      }

      @Override
      public long nanoTime() {
        return timer.now;
      }

      @Override
      public void executeOnLoop(Runnable check) {
        if (loopRunsAtOnce) {
          check.run();
        } else {
          loop.add(check);
        }
      }

      @Override
      public void onMaxConnectionIdle() {
        closedAt.add(timer.now);
      }
    }, MAX_IDLE);
    idle.start();
    return idle;
  }

  private MaxConnectionIdleManager reference(List<Long> closes) {
    MaxConnectionIdleManager m = new MaxConnectionIdleManager(MAX_IDLE, () -> timer.now);
    m.start(() -> closes.add(timer.now), timer);
    return m;
  }

  private void runLoop() {
    while (!loop.isEmpty()) {
      loop.poll().run();
    }
  }
}
