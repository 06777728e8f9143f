package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.google.common.base.Ticker;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.Server;
import io.grpc.internal.KeepAliveManager;
import io.grpc.internal.KeepAliveManagerAccess;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * {@link ServerKeepAlive} against grpc-core's {@code KeepAliveManager} and {@code
 * KeepAliveEnforcer} (which the server used before): the same answers to the peer's pings; the
 * same pings and timeouts at the same instants for random reads and clock steps, at
 * most one pending timer task, nothing pending once stopped; a timeout whose task was already
 * starting when a read cancelled it does nothing; and on a real server, a peer that never answers
 * a keepalive PING is dropped while one that answers stays.
 */
public class ServerKeepAliveTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  /** Same events, same instants, as grpc-core's manager; 3 seeds × 2 settings × 5,000 steps. */
  @Test
  public void sameScheduleAsGrpcCoreKeepAliveManager() {
    for (long seed = 1; seed <= 3; seed++) {
      compare(seed, 100, 40);
      compare(seed, 50, 120);
    }
  }

  private static void compare(long seed, long timeNanos, long timeoutNanos) {
    Random random = new Random(seed);
    FakeScheduler timer = new FakeScheduler();
    List<String> ours = new ArrayList<>();
    List<String> grpc = new ArrayList<>();
    FakeOwner owner = new FakeOwner(timer, timeNanos, timeoutNanos, ours);
    ServerKeepAlive keepAlive = new ServerKeepAlive(owner);
    KeepAliveManager reference = reference(timer, timeNanos, timeoutNanos, grpc);
    keepAlive.start();
    reference.onTransportStarted();
    int timeouts = 0;
    for (int step = 0; step < 5_000; step++) {
      if (random.nextBoolean()) {
        timer.advance(random.nextInt((int) (Math.max(timeNanos, timeoutNanos) * 3 / 2)));
      } else {
        keepAlive.onDataReceived();
        reference.onDataReceived();
      }
      assertEquals("seed " + seed + " step " + step, grpc, ours);
      assertTrue("at most one pending task", timer.live() <= 1);
      if (keepAlive.state().equals("DISCONNECTED")) {
        // Both timed out (the lists are equal): start a new connection on the same clock.
        assertEquals(0, timer.live());
        reference.onTransportTermination();
        timeouts++;
        keepAlive = new ServerKeepAlive(owner);
        reference = reference(timer, timeNanos, timeoutNanos, grpc);
        keepAlive.start();
        reference.onTransportStarted();
      }
    }
    assertTrue("pings sent", ours.stream().filter(e -> e.startsWith("ping")).count() > 100);
    assertTrue("timeouts seen", timeouts > 10);
    keepAlive.stop();
    assertEquals("nothing pending once stopped", 0, timer.live());
    assertEquals("DISCONNECTED", keepAlive.state());
  }

  private static KeepAliveManager reference(FakeScheduler timer, long timeNanos,
      long timeoutNanos, List<String> events) {
    return KeepAliveManagerAccess.create(new KeepAliveManager.KeepAlivePinger() {
      @Override
      public void ping() {
        events.add("ping@" + timer.now);
      }

      @Override
      public void onPingTimeout() {
        events.add("timeout@" + timer.now);
      }
    }, timer, new Ticker() {
      @Override
      public long read() {
        return timer.now;
      }
    }, timeNanos, timeoutNanos);
  }

  @Test
  public void timeoutCancelledByAReadWhileStartingDoesNothing() throws Exception {
    FakeScheduler timer = new FakeScheduler();
    List<String> events = new ArrayList<>();
    FakeOwner owner = new FakeOwner(timer, 100, 40, events);
    ServerKeepAlive keepAlive = new ServerKeepAlive(owner);
    keepAlive.start();
    timer.advance(100);
    assertEquals(List.of("ping@100"), events);
    assertEquals("PING_SENT", keepAlive.state());
    FakeScheduler.Task timeoutTask = timer.queue.peek();
    keepAlive.onDataReceived(); // the ack: cancels the timeout, schedules the next ping
    assertTrue(timeoutTask.isCancelled());
    timeoutTask.callable.call(); // the timer thread had already taken it
    assertEquals(List.of("ping@100"), events);
    assertEquals("PING_SCHEDULED", keepAlive.state());
    assertEquals(1, timer.live());
    timer.advance(100);
    assertEquals(List.of("ping@100", "ping@200"), events);
  }

  /**
   * A real server on a stepped clock: a peer that never answers its PING loses the connection at
   * the timeout; one that answers stays. (On the real clock, a test thread held up for the 300 ms
   * of the timeout on a loaded machine would lose the answering connection too.)
   */
  @Test
  public void serverDropsPeerThatNeverAnswersKeepAlivePing() throws Exception {
    SteppedTimer timer = new SteppedTimer();
    Server server = LeanServerBuilder.forPort(0).addService(Echo.service())
        .keepAliveTime(200, TimeUnit.MILLISECONDS)
        .keepAliveTimeout(300, TimeUnit.MILLISECONDS)
        .timerForTests(timer, timer.ticker)
        .build().start();
    try (RawHttp2Client silent = RawHttp2Client.connect(server.getPort());
        RawHttp2Client answering = RawHttp2Client.connect(server.getPort())) {
      silent.handshake().pingRoundTrip(1);
      answering.handshake().pingRoundTrip(1); // nothing more to read before the clock moves
      timer.advance(200, TimeUnit.MILLISECONDS); // both ping; the timeouts are due at 500
      RawHttp2Client.Frame ping = silent.awaitFrame(
          f -> f.type == FrameType.PING && !f.ack(), Duration.ofSeconds(10));
      assertEquals(0xDEADL, ByteBuffer.wrap(ping.payload).getLong());
      // Answer three keepalive pings on the other connection (at 200, 400 and 600): it stays
      // open while the silent one is dropped at 500.
      for (int i = 1; i <= 3; i++) {
        RawHttp2Client.Frame p = answering.awaitFrame(
            f -> f.type == FrameType.PING && !f.ack(), Duration.ofSeconds(10));
        answering.send(RawFrames.ping(true, ByteBuffer.wrap(p.payload).getLong()));
        // The answer read: the timeout is cancelled and the next ping due 200 ms on.
        timer.awaitTaskDueAt(TimeUnit.MILLISECONDS.toNanos(200 * (i + 1)), 10_000);
        timer.advance(200, TimeUnit.MILLISECONDS);
      }
      silent.awaitClosed(Duration.ofSeconds(10));
      assertTrue(silent.closedByPeer());
      answering.awaitFrame(f -> f.type == FrameType.PING && !f.ack(), Duration.ofSeconds(10));
      assertFalse(answering.closedByPeer());
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * Policing the peer's PINGs gives grpc-core's {@code KeepAliveEnforcer}'s answer to every ping
   * of random sequences (pings, time passing, frames sent, calls opening and ending), for each
   * permitted interval (none, short, long, above the 2-hour implicit one) with and without calls
   * required.
   */
  @Test
  public void pingPolicingMatchesGrpcCoreKeepAliveEnforcer() {
    long hour = TimeUnit.HOURS.toNanos(1);
    long[] permits = {0, TimeUnit.SECONDS.toNanos(1), TimeUnit.MINUTES.toNanos(5), 3 * hour};
    int refused = 0;
    int accepted = 0;
    for (long permit : permits) {
      for (boolean withoutCalls : new boolean[] {false, true}) {
        Random random = new Random(permit ^ (withoutCalls ? 1 : 0));
        FakeScheduler timer = new FakeScheduler();
        timer.now = 1_000_000;
        FakeOwner owner = new FakeOwner(timer, 100, 40, new ArrayList<>());
        owner.permitWithoutCalls = withoutCalls;
        owner.permitTimeNanos = permit;
        ServerKeepAlive ours = new ServerKeepAlive(owner);
        io.grpc.internal.KeepAliveEnforcer reference =
            KeepAliveManagerAccess.createEnforcer(withoutCalls, permit, () -> timer.now);
        for (int step = 0; step < 4_000; step++) {
          int what = random.nextInt(10);
          if (what < 4) {
            boolean expected = reference.pingAcceptable();
            assertEquals("permit " + permit + " withoutCalls " + withoutCalls + " step " + step,
                expected, ours.pingAcceptable());
            if (expected) {
              accepted++;
            } else {
              refused++;
            }
          } else if (what < 7) {
            long scale = random.nextBoolean() ? Math.max(permit, 1) : 3 * hour;
            timer.now += (long) (random.nextDouble() * scale * 1.5);
          } else if (what == 7) {
            reference.resetCounters();
            ours.resetPingStrikes();
          } else if (what == 8) {
            reference.onTransportActive();
            ours.onCallsOpen();
          } else {
            reference.onTransportIdle();
            ours.onCallsIdle();
          }
        }
      }
    }
    assertTrue(accepted > 1000);
    assertTrue(refused > 1000);
  }

  /** The owner of a keepalive under test: a fake clock, events recorded. */
  private static final class FakeOwner implements ServerKeepAlive.Owner {
    private final FakeScheduler timer;
    private final long timeNanos;
    private final long timeoutNanos;
    private final List<String> events;
    boolean permitWithoutCalls;
    long permitTimeNanos;

    FakeOwner(FakeScheduler timer, long timeNanos, long timeoutNanos, List<String> events) {
      this.timer = timer;
      this.timeNanos = timeNanos;
      this.timeoutNanos = timeoutNanos;
      this.events = events;
    }

    @Override
    public void ping() {
      events.add("ping@" + timer.now);
    }

    @Override
    public void onPingTimeout() {
      events.add("timeout@" + timer.now);
    }

    @Override
    public ScheduledExecutorService keepAliveScheduler() {
      return timer;
    }

    @Override
    public long keepAliveTimeNanos() {
      return timeNanos;
    }

    @Override
    public long keepAliveTimeoutNanos() {
      return timeoutNanos;
    }

    @Override
    public long nanoTime() {
      return timer.now;
    }

    @Override
    public boolean permitKeepAliveWithoutCalls() {
      return permitWithoutCalls;
    }

    @Override
    public long permitKeepAliveTimeNanos() {
      return permitTimeNanos;
    }
  }

  /**
   * A timer on a fake clock: {@link #advance} runs the tasks that come due, in due order (ties in
   * scheduling order), with the clock set to each one's due time. Single-threaded.
   */
  static final class FakeScheduler extends FakeTimerService {
    long now;
    private long scheduled;
    final PriorityQueue<Task> queue = new PriorityQueue<>();

    void advance(long nanos) {
      long until = now + nanos;
      while (!queue.isEmpty() && queue.peek().due <= until) {
        Task t = queue.poll();
        now = Math.max(now, t.due);
        if (!t.cancelled) {
          t.done = true;
          try {
            t.callable.call();
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        }
      }
      now = until;
    }

    /** Pending, not cancelled tasks of {@link ServerKeepAlive} (grpc-core's are not counted). */
    int live() {
      int n = 0;
      for (Task t : queue) {
        if (!t.cancelled && !t.reference) {
          n++;
        }
      }
      return n;
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      return add(() -> {
        command.run();
        return null;
      }, unit.toNanos(delay), true);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
      @SuppressWarnings("unchecked")
      ScheduledFuture<V> f = (ScheduledFuture<V>) add(callable, unit.toNanos(delay), false);
      return f;
    }

    /** grpc-core's manager schedules Runnables, ours Callables: that tells them apart. */
    private Task add(Callable<?> callable, long delayNanos, boolean reference) {
      Task t = new Task(callable, now + Math.max(0, delayNanos), scheduled++, reference);
      queue.add(t);
      return t;
    }

    @Override
    public void execute(Runnable command) {
      command.run();
    }

    static final class Task implements ScheduledFuture<Object> {
      final Callable<?> callable;
      final long due;
      final long order;
      final boolean reference;
      boolean cancelled;
      boolean done;

      Task(Callable<?> callable, long due, long order, boolean reference) {
        this.callable = callable;
        this.due = due;
        this.order = order;
        this.reference = reference;
      }

      @Override
      public long getDelay(TimeUnit unit) {
        throw new UnsupportedOperationException();
      }

      @Override
      public int compareTo(Delayed o) {
        Task t = (Task) o;
        return due != t.due ? Long.compare(due, t.due) : Long.compare(order, t.order);
      }

      @Override
      public boolean cancel(boolean mayInterrupt) {
        if (done || cancelled) {
          return false;
        }
        cancelled = true;
        return true;
      }

      @Override
      public boolean isCancelled() {
        return cancelled;
      }

      @Override
      public boolean isDone() {
        return done || cancelled;
      }

      @Override
      public Object get() {
        throw new UnsupportedOperationException();
      }

      @Override
      public Object get(long timeout, TimeUnit unit) {
        throw new UnsupportedOperationException();
      }
    }
  }
}
