package dev.grpclean.interop.scaleout;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.interop.scaleout.Backend.Behaviour;
import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.internal.JsonParser;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestName;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Lean behind gRPC's own scale-out machinery: four lean servers on 127.0.0.2-127.0.0.5 and lean
 * channels that reach them through a name resolver of our own ({@link AddressBook}), load balanced
 * by grpc-core's policies as configured by a service config. Every call's outcome is counted; a
 * test fails on any failed call its policy does not allow.
 *
 * <p>Each test prints a {@code SCALEOUT} line with its figures. Thread-compatible: the JUnit
 * thread drives; load threads only touch thread-safe {@link Tally} and {@link Backend} state.
 */
@RunWith(JUnit4.class)
public class ScaleOutTest {
  @ClassRule public static final Timeout CLASS_TIMEOUT = Timeout.seconds(300);

  @Rule
  public final Timeout timeout =
      Timeout.builder().withTimeout(90, TimeUnit.SECONDS).withLookingForStuckThread(true).build();

  @Rule public final TestName testName = new TestName();

  /** Loopback addresses: Linux routes all of 127/8 to lo, no setup needed. */
  private static final String[] HOSTS = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};

  /** Bound on any wait for a condition (the transitions themselves take milliseconds). */
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** Concurrent callers of the load. */
  private static final int LOAD_THREADS = 8;

  /** round_robin's share of each backend may differ from an even split by this much. */
  private static final double SPREAD_TOLERANCE = 0.20;

  private static final String ROUND_ROBIN = "{\"loadBalancingConfig\": [{\"round_robin\": {}}]}";

  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final ExecutorService load = Executors.newCachedThreadPool();
  private final List<Backend> backends = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final AtomicBoolean stopLoad = new AtomicBoolean();
  private final List<Future<?>> loadWorkers = new ArrayList<>();
  private AddressBook book;

  @After
  public void tearDown() throws Exception {
    stopLoad();
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    try {
      for (ManagedChannel c : channels) {
        assertTrue("channel terminates", c.awaitTermination(10, TimeUnit.SECONDS));
      }
      for (Backend b : backends) {
        assertTrue("server terminates", b.shutDownAndAwait(10));
      }
    } finally {
      if (book != null) {
        book.remove();
      }
      load.shutdownNow();
      timer.shutdownNow();
    }
  }

  /** (a) round_robin spreads the calls of many concurrent callers evenly over the four. */
  @Test
  public void roundRobinSpreadsCallsEvenly() throws Exception {
    startBackends(4, b -> {});
    book = AddressBook.create(testName.getMethodName(), addresses(0, 4));
    ManagedChannel channel = newChannel(ROUND_ROBIN);
    Tally warmUp = new Tally(4);
    awaitReplies(channel, warmUp, 0, 1, 2, 3);

    Tally tally = new Tally(4);
    int callsPerThread = 500;
    List<Future<?>> callers = new ArrayList<>();
    for (int t = 0; t < LOAD_THREADS; t++) {
      callers.add(load.submit(() -> tally.calls(channel, callsPerThread)));
    }
    for (Future<?> f : callers) {
      f.get(WAIT.getSeconds(), TimeUnit.SECONDS);
    }
    report("%d calls from %d threads: %s (warm-up %s)",
        LOAD_THREADS * callsPerThread, LOAD_THREADS, tally, warmUp);
    assertEquals(tally.toString(), 0, tally.failures() + warmUp.failures());
    assertEvenlySpread(tally.replies(), LOAD_THREADS * callsPerThread, 0, 1, 2, 3);
  }

  /**
   * (b) pick_first sends everything to the first address; when that server dies under load the
   * channel moves to the next one. Only calls in flight on the dead server may fail, at most one
   * per caller: CANCELLED (a server's shutdownNow resets its streams with RST_STREAM CANCEL, as
   * grpc-netty's does) or UNAVAILABLE (the connection closed first).
   */
  @Test
  public void pickFirstFailsOverWhenItsServerIsKilled() throws Exception {
    startBackends(4, b -> {});
    book = AddressBook.create(testName.getMethodName(), addresses(0, 4));
    ManagedChannel channel = newChannel("{\"loadBalancingConfig\": [{\"pick_first\": {}}]}");
    Tally tally = new Tally(4);
    startLoad(channel, tally);
    await(() -> tally.replies(0) >= 500, () -> "first server serves: " + tally);
    int[] beforeKill = tally.replies();
    assertEquals("pick_first uses the first address only: " + tally,
        beforeKill[0], Arrays.stream(beforeKill).sum());

    backends.get(0).kill();
    await(() -> tally.replies(1) >= 500, () -> "failed over to the second: " + tally);
    stopLoad();
    int[] after = tally.replies();
    report("before the kill %s; after %s; failures %s",
        Arrays.toString(beforeKill), Arrays.toString(after), tally.failuresByCode());
    assertEquals("only the second address takes over: " + tally, 0, after[2] + after[3]);
    assertTrue("failures are CANCELLED or UNAVAILABLE only: " + tally,
        tally.failuresByCode().keySet().stream()
            .allMatch(c -> c == Status.Code.CANCELLED || c == Status.Code.UNAVAILABLE));
    assertTrue("at most the calls in flight on the killed server fail: " + tally,
        tally.failures() <= LOAD_THREADS);
  }

  /**
   * (c) Client-side health checking from the service config: a server reporting NOT_SERVING
   * through grpc's HealthStatusManager gets no more calls, and gets them again once SERVING. No
   * call fails on the way.
   */
  @Test
  public void healthCheckingTakesAServerOutAndBackIn() throws Exception {
    startBackends(4, b -> {});
    book = AddressBook.create(testName.getMethodName(), addresses(0, 4));
    ManagedChannel channel = newChannel(
        "{\"loadBalancingConfig\": [{\"round_robin\": {}}],"
            + " \"healthCheckConfig\": {\"serviceName\": \"" + Backend.SERVICE + "\"}}");
    Tally tally = new Tally(4);
    awaitReplies(channel, tally, 0, 1, 2, 3);
    startLoad(channel, tally);

    backends.get(1).setServing(false);
    awaitWindow(tally, 200, w -> w[1] == 0, "backend 1 out");
    int[] out = window(tally, 1200);
    backends.get(1).setServing(true);
    awaitWindow(tally, 200, w -> w[1] > 0, "backend 1 back");
    int[] in = window(tally, 1200);
    stopLoad();
    report("NOT_SERVING window %s; SERVING again %s; all calls %s",
        Arrays.toString(out), Arrays.toString(in), tally);
    assertEquals(tally.toString(), 0, tally.failures());
    assertEquals("no call to the server out of rotation", 0, out[1]);
    assertEvenlySpread(out, sum(out), 0, 2, 3);
    assertEvenlySpread(in, sum(in), 0, 1, 2, 3);
  }

  /**
   * (d) maxConnectionAge makes clients rebalance: the resolver (DNS-like) learns of a fourth
   * server but tells channels only when they re-resolve; servers closing connections at their
   * maximum age make the channel re-resolve and spread onto the new server. No call fails.
   */
  @Test
  public void maxConnectionAgeRebalancesOntoAServerAddedLater() throws Exception {
    startBackends(4, b -> b.maxConnectionAge(1, TimeUnit.SECONDS)
        .maxConnectionAgeGrace(10, TimeUnit.SECONDS));
    book = AddressBook.create(testName.getMethodName(), addresses(0, 3));
    ManagedChannel channel = newChannel(ROUND_ROBIN);
    Tally tally = new Tally(4);
    awaitReplies(channel, tally, 0, 1, 2);
    startLoad(channel, tally);

    book.stage(addresses(0, 4));
    await(() -> tally.replies(3) > 0, () -> "the added server gets calls: " + tally);
    int[] spread = window(tally, 2000);
    stopLoad();
    int connections = backends.stream().mapToInt(b -> b.connections.get()).sum();
    report("after the fourth joined %s; all calls %s; re-resolutions %d, connections %d",
        Arrays.toString(spread), tally, book.refreshes.get(), connections);
    assertEquals(tally.toString(), 0, tally.failures());
    assertEvenlySpread(spread, sum(spread), 0, 1, 2, 3);
  }

  /**
   * The control for (d): without maxConnectionAge nothing makes the channel re-resolve, so the
   * server added later gets no call.
   */
  @Test
  public void withoutMaxConnectionAgeTheAddedServerStaysIdle() throws Exception {
    startBackends(4, b -> {});
    book = AddressBook.create(testName.getMethodName(), addresses(0, 3));
    ManagedChannel channel = newChannel(ROUND_ROBIN);
    Tally tally = new Tally(4);
    awaitReplies(channel, tally, 0, 1, 2);
    startLoad(channel, tally);
    book.stage(addresses(0, 4));
    int[] spread = window(tally, 2000);
    stopLoad();
    report("after the fourth joined %s; re-resolutions %d", Arrays.toString(spread),
        book.refreshes.get());
    assertEquals(tally.toString(), 0, tally.failures());
    assertEquals("no call reaches the added server", 0, spread[3]);
  }

  /**
   * (e) Retries from the service config go to other servers: one server fails every call with
   * UNAVAILABLE, and round_robin gives each retry the next server, so no call fails.
   */
  @Test
  public void retriesFromServiceConfigMoveToAnotherServer() throws Exception {
    Tally warmUp = new Tally(4);
    ManagedChannel channel = fourBackendsWithPolicy(
        "\"retryPolicy\": {\"maxAttempts\": 4, \"initialBackoff\": \"0.01s\","
            + " \"maxBackoff\": \"0.05s\", \"backoffMultiplier\": 2,"
            + " \"retryableStatusCodes\": [\"UNAVAILABLE\"]}", warmUp);
    backends.get(0).behave(Behaviour.FAIL_UNAVAILABLE);
    int attemptsBefore = backends.get(0).attempts.get();

    // One caller: round_robin's picks then alternate strictly, so a retry never meets the same
    // server twice in a row (concurrent callers could, by chance, exhaust maxAttempts there).
    int calls = 400;
    Tally tally = new Tally(4).calls(channel, calls);
    int failedAttempts = backends.get(0).attempts.get() - attemptsBefore;
    report("%d calls: %s; attempts failed by backend 0 and retried: %d",
        calls, tally, failedAttempts);
    assertEquals(tally.toString(), 0, tally.failures() + warmUp.failures());
    assertEquals(0, tally.replies(0));
    assertTrue("a quarter of the first attempts met the failing server: " + failedAttempts,
        failedAttempts >= calls / 4 * (1 - SPREAD_TOLERANCE));
  }

  /**
   * (e) Hedging from the service config: one server answers only after seconds; a hedged attempt
   * goes to the next server after the hedging delay and wins, the slow attempt is cancelled.
   */
  @Test
  public void hedgingFromServiceConfigOutrunsASlowServer() throws Exception {
    Tally warmUp = new Tally(4);
    ManagedChannel channel = fourBackendsWithPolicy(
        "\"hedgingPolicy\": {\"maxAttempts\": 3, \"hedgingDelay\": \"0.2s\","
            + " \"nonFatalStatusCodes\": [\"UNAVAILABLE\"]}", warmUp);
    Backend slow = backends.get(2);
    slow.behave(Behaviour.SLOW);
    int attemptsBefore = slow.attempts.get();

    int calls = 40;
    Tally tally = new Tally(4).calls(channel, calls); // one caller, as in the retry test
    int slowAttempts = slow.attempts.get() - attemptsBefore;
    await(() -> slow.cancelled.get() == slowAttempts,
        () -> "lost hedges cancelled: " + slow.cancelled.get() + " of " + slowAttempts);
    report("%d calls: %s; attempts on the slow backend %d, all cancelled when the hedge won",
        calls, tally, slowAttempts);
    assertEquals(tally.toString(), 0, tally.failures() + warmUp.failures());
    assertEquals("the slow server never answers first", 0, tally.replies(2));
    assertTrue("a quarter of the calls met the slow server first: " + slowAttempts,
        slowAttempts >= calls / 4 * (1 - SPREAD_TOLERANCE));
  }

  /**
   * Four backends behind round_robin whose service config gives the service {@code policy} (a
   * retryPolicy or hedgingPolicy member), each answered once through {@code warmUp}.
   */
  private ManagedChannel fourBackendsWithPolicy(String policy, Tally warmUp) throws Exception {
    startBackends(4, b -> {});
    book = AddressBook.create(testName.getMethodName(), addresses(0, 4));
    ManagedChannel channel = newChannel(
        "{\"loadBalancingConfig\": [{\"round_robin\": {}}],"
            + " \"methodConfig\": [{\"name\": [{\"service\": \"" + Backend.SERVICE + "\"}],"
            + " " + policy + "}]}");
    awaitReplies(channel, warmUp, 0, 1, 2, 3);
    return channel;
  }

  private void startBackends(int n, Consumer<LeanServerBuilder> configure) throws IOException {
    for (int i = 0; i < n; i++) {
      backends.add(Backend.start(i, HOSTS[i], timer, configure));
    }
  }

  private List<EquivalentAddressGroup> addresses(int from, int to) {
    List<EquivalentAddressGroup> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(backends.get(i).address());
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private ManagedChannel newChannel(String serviceConfigJson) throws IOException {
    ManagedChannel channel =
        LeanChannelBuilder.forTarget(book.target())
            .usePlaintext()
            .defaultServiceConfig((Map<String, ?>) JsonParser.parse(serviceConfigJson))
            .build();
    channels.add(channel);
    return channel;
  }

  /**
   * Calls one at a time until each of {@code expected} has answered: round_robin only spreads over
   * connections that are ready, and they become ready one by one.
   */
  private static void awaitReplies(ManagedChannel channel, Tally tally, int... expected) {
    await(() -> {
      tally.call(channel);
      return Arrays.stream(expected).allMatch(i -> tally.replies(i) > 0);
    }, () -> "every backend answers: " + tally);
  }

  /** Runs {@link #LOAD_THREADS} callers in a loop until {@link #stopLoad}. */
  private void startLoad(ManagedChannel channel, Tally tally) {
    for (int t = 0; t < LOAD_THREADS; t++) {
      loadWorkers.add(load.submit(() -> {
        while (!stopLoad.get()) {
          tally.call(channel);
        }
      }));
    }
  }

  private void stopLoad() throws Exception {
    stopLoad.set(true);
    for (Future<?> f : loadWorkers) {
      f.get(Tally.CALL_DEADLINE_SECONDS + 10, TimeUnit.SECONDS);
    }
    loadWorkers.clear();
  }

  /** Returns the replies per backend among the next {@code replies} replies of the load. */
  private static int[] window(Tally tally, int replies) {
    int[] start = tally.replies();
    int[][] delta = new int[1][];
    await(() -> {
      delta[0] = minus(tally.replies(), start);
      return sum(delta[0]) >= replies;
    }, () -> replies + " replies: " + tally);
    return delta[0];
  }

  /** Takes windows of {@code replies} replies until one satisfies {@code wanted}. */
  private static void awaitWindow(
      Tally tally, int replies, java.util.function.Predicate<int[]> wanted, String what) {
    await(() -> wanted.test(window(tally, replies)), () -> what + ": " + tally);
  }

  private static void await(BooleanSupplier condition, Supplier<String> description) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("not within " + WAIT + ": " + description.get());
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
  }

  private static void assertEvenlySpread(int[] replies, int total, int... among) {
    double even = (double) total / among.length;
    for (int i : among) {
      assertTrue("backend " + i + " got " + replies[i] + " of " + total + ", even is " + even
              + " +-" + (int) (SPREAD_TOLERANCE * 100) + "%: " + Arrays.toString(replies),
          Math.abs(replies[i] - even) <= SPREAD_TOLERANCE * even);
    }
  }

  private static int[] minus(int[] a, int[] b) {
    int[] out = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i] - b[i];
    }
    return out;
  }

  private static int sum(int[] a) {
    return Arrays.stream(a).sum();
  }

  private void report(String format, Object... args) {
    System.out.println("SCALEOUT " + testName.getMethodName() + ": " + String.format(format, args));
  }
}
