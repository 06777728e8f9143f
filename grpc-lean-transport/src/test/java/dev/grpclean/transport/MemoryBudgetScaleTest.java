package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.MemoryBudgetTest.PeakSampler;
import dev.grpclean.transport.RawHttp2Client.Frame;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.testing.ByteMethods;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The proof of the memory budget at full size: a server under a 64 MiB
 * {@link LeanMemoryBudget} with (a) a 200-stream zero-window slow reader whose 100 handlers write
 * 1 MiB messages, (b) 1,000 concurrent 1 MiB uploads, (c) both at once. Well-behaved unary calls
 * run alongside each. Every scenario checks that the transport's accounting (the budget's peak)
 * stays within the budget plus {@link #INBOUND_SLACK_PER_CONNECTION} per connection, that the
 * well-behaved calls complete, that the budget and every lease come back, and it ends (the class
 * timeout catches a deadlock).
 */
public class MemoryBudgetScaleTest {
  private static final long BUDGET_BYTES = 64L << 20;
  private static final int MESSAGE_BYTES = 1 << 20;
  private static final Duration WAIT = Duration.ofSeconds(90);
  /**
   * What inbound charges may add past the budget per connection reading when it reaches its
   * limit (the backstop pauses reads after the read in progress): one socket read, 64 KiB of
   * frames whose payloads may each sit in a pool class up to twice their size.
   */
  private static final long INBOUND_SLACK_PER_CONNECTION = 2L * SecureSocket.READ_BUFFER_BYTES;
  private static final int UPLOAD_CHANNELS = 4;
  private static final int UPLOADS = 1000;
  private static final int UNARY_CALLS = 50;

  @Rule public final Timeout timeout = Timeout.seconds(240);

  private static final MethodDescriptor<byte[], byte[]> POLITE =
      ByteMethods.method(MethodType.SERVER_STREAMING, "scale.Flood", "Polite");
  private static final MethodDescriptor<byte[], byte[]> CARELESS =
      ByteMethods.method(MethodType.SERVER_STREAMING, "scale.Flood", "Careless");
  private static final MethodDescriptor<byte[], byte[]> UPLOAD =
      ByteMethods.method(MethodType.UNARY, "scale.Flood", "Upload");

  private final AtomicInteger writersSettled = new AtomicInteger();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private Server server;

  @After
  public void tearDown() throws InterruptedException {
    for (ManagedChannel ch : channels) {
      ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow();
      server.awaitTermination(10, TimeUnit.SECONDS);
    }
    LeanLeases.assertAllReturned();
  }

  private ServerServiceDefinition floodService() {
    return ServerServiceDefinition.builder("scale.Flood")
        // One honours isReady() (8 messages at most), one ignores it (8 MiB whatever happens).
        .addMethod(POLITE, BudgetWriters.polite(writersSettled, 8, MESSAGE_BYTES))
        .addMethod(CARELESS, BudgetWriters.careless(writersSettled, 8, MESSAGE_BYTES))
        .addMethod(UPLOAD, ServerCalls.asyncUnaryCall((req, observer) -> {
          observer.onNext(new byte[] {(byte) (req.length >> 20)});
          observer.onCompleted();
        }))
        .build();
  }

  private LeanMemoryBudget start() throws Exception {
    LeanMemoryBudget budget = LeanMemoryBudget.of(BUDGET_BYTES);
    server = LeanServerBuilder.forPort(0).memoryBudget(budget)
        .addService(floodService()).addService(Echo.service()).build().start();
    return budget;
  }

  private ManagedChannel channel() {
    // The uploads' client queues every request at once: let it (the budget is the server's).
    ManagedChannel ch = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().maxQueuedBytesPerConnection(1L << 30).build();
    channels.add(ch);
    return ch;
  }

  /** (a) alone: the slow reader holds what its 100 writing handlers may queue. */
  @Test
  public void slowReaderWithHundredMegabyteWriters() throws Exception {
    LeanMemoryBudget budget = start();
    ManagedChannel small = channel();
    try (PeakSampler used = new PeakSampler(budget::usedBytes);
        RawHttp2Client reader = openSlowReader()) {
      awaitWritersSettled(budget);
      assertTrue("writers past the budget were refused: " + budget, budget.writesRefused() > 0);
      runUnaryCalls(small);
      assertSlowReaderAnswersPing(reader);
      assertWithinBudget(budget, used, 2);
      System.out.printf("scale (a) slow reader: budget %d, peak charged %d (sampled %d), %s%n",
          BUDGET_BYTES, budget.peakBytes(), used.peak(), budget);
    }
    assertEverythingBack(budget);
  }

  /** (b) alone: 1,000 concurrent uploads of 1 MiB, whose partial messages need 1 GiB at once. */
  @Test
  public void thousandConcurrentMegabyteUploads() throws Exception {
    LeanMemoryBudget budget = start();
    List<ManagedChannel> uploadChannels = uploadChannels();
    ManagedChannel small = channel();
    long startNanos = System.nanoTime();
    try (PeakSampler used = new PeakSampler(budget::usedBytes)) {
      List<Future<byte[]>> uploads = startUploads(uploadChannels);
      runUnaryCalls(small);
      Map<Status.Code, Integer> outcomes = outcomes(uploads);
      System.out.printf("scale (b) uploads: budget %d, peak charged %d (sampled %d), outcomes %s,"
          + " %d ms, %s%n", BUDGET_BYTES, budget.peakBytes(), used.peak(), outcomes,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), budget);
      assertUploadsMostlyComplete(outcomes);
      assertWithinBudget(budget, used, UPLOAD_CHANNELS + 1);
      assertTrue("the budget restricted windows: " + budget, budget.restrictions() > 0);
    }
    for (ManagedChannel ch : channels) {
      ch.shutdownNow();
    }
    assertEverythingBack(budget);
  }

  /** (c) the slow reader and the uploads at once, unary calls alongside. */
  @Test
  public void slowReaderAndUploadsAtOnce() throws Exception {
    LeanMemoryBudget budget = start();
    List<ManagedChannel> uploadChannels = uploadChannels();
    ManagedChannel small = channel();
    long startNanos = System.nanoTime();
    try (PeakSampler used = new PeakSampler(budget::usedBytes);
        RawHttp2Client reader = openSlowReader()) {
      List<Future<byte[]>> uploads = startUploads(uploadChannels);
      runUnaryCalls(small);
      Map<Status.Code, Integer> outcomes = outcomes(uploads);
      awaitWritersSettled(budget);
      runUnaryCalls(small);
      assertSlowReaderAnswersPing(reader);
      System.out.printf("scale (c) both: budget %d, peak charged %d (sampled %d), outcomes %s,"
          + " %d ms, %s%n", BUDGET_BYTES, budget.peakBytes(), used.peak(), outcomes,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), budget);
      assertUploadsMostlyComplete(outcomes);
      assertWithinBudget(budget, used, UPLOAD_CHANNELS + 2);
    }
    for (ManagedChannel ch : channels) {
      ch.shutdownNow();
    }
    assertEverythingBack(budget);
  }

  /**
   * A raw client with zero stream windows (it never opens them) on 200 streams: 50 polite and
   * 50 careless handlers writing 1 MiB messages, and 100 unary calls whose answers cannot leave.
   */
  private RawHttp2Client openSlowReader() throws Exception {
    RawHttp2Client c = MemoryBudgetTest.openWithClosedWindows(server.getPort());
    int id = 1;
    for (int i = 0; i < 200; i++, id += 2) {
      MethodDescriptor<?, ?> method = i % 2 == 1 ? Echo.UNARY : i % 4 == 0 ? POLITE : CARELESS;
      MemoryBudgetTest.requestStream(c, id, method);
    }
    return c;
  }

  private void awaitWritersSettled(LeanMemoryBudget budget) {
    Conditions.await(() -> writersSettled.get() == 100, WAIT,
        () -> writersSettled + " of 100 writers settled, " + budget);
  }

  private void assertSlowReaderAnswersPing(RawHttp2Client reader) throws Exception {
    reader.send(RawFrames.ping(false, 42));
    Frame ack = reader.awaitFrame(f -> f.type == FrameType.PING && f.ack(), WAIT);
    assertTrue(ack.toString(), ack.ack());
  }

  private List<ManagedChannel> uploadChannels() {
    List<ManagedChannel> list = new ArrayList<>();
    for (int i = 0; i < UPLOAD_CHANNELS; i++) {
      list.add(channel());
    }
    return list;
  }

  private static List<Future<byte[]>> startUploads(List<ManagedChannel> uploadChannels) {
    List<Future<byte[]>> calls = new ArrayList<>();
    byte[] body = new byte[MESSAGE_BYTES];
    for (int i = 0; i < UPLOADS; i++) {
      ManagedChannel ch = uploadChannels.get(i % uploadChannels.size());
      calls.add(ClientCalls.futureUnaryCall(
          ch.newCall(UPLOAD, CallOptions.DEFAULT.withDeadlineAfter(WAIT.toSeconds(),
              TimeUnit.SECONDS)), body));
    }
    return calls;
  }

  /** Well-behaved small calls on their own connection: every one completes. */
  private static void runUnaryCalls(ManagedChannel small) {
    for (int i = 0; i < UNARY_CALLS; i++) {
      byte[] request = {(byte) i, 7};
      assertEquals(2, Echo.call(small, request).length);
    }
  }

  private static Map<Status.Code, Integer> outcomes(List<Future<byte[]>> uploads)
      throws Exception {
    Map<Status.Code, Integer> outcomes = new EnumMap<>(Status.Code.class);
    for (Future<byte[]> call : uploads) {
      Status.Code code;
      try {
        byte[] answer = call.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertEquals(1, answer[0]);
        code = Status.Code.OK;
      } catch (ExecutionException e) {
        code = Status.fromThrowable(e.getCause()).getCode();
      }
      outcomes.merge(code, 1, Integer::sum);
    }
    return outcomes;
  }

  /** Most uploads complete; the rest were failed by the budget and say so. */
  private static void assertUploadsMostlyComplete(Map<Status.Code, Integer> outcomes) {
    for (Status.Code code : outcomes.keySet()) {
      assertTrue(outcomes.toString(),
          code == Status.Code.OK || code == Status.Code.RESOURCE_EXHAUSTED);
    }
    assertTrue(outcomes.toString(),
        outcomes.getOrDefault(Status.Code.OK, 0) >= UPLOADS * 9 / 10);
  }

  private static void assertWithinBudget(LeanMemoryBudget budget, PeakSampler used,
      int connections) {
    long bound = BUDGET_BYTES + connections * INBOUND_SLACK_PER_CONNECTION;
    assertTrue("accounting passed budget + one read per connection: " + budget,
        budget.peakBytes() <= bound);
    assertTrue("sampled " + used.peak(), used.peak() <= bound);
  }

  /** Every connection is closed: the budget is back to zero, nothing paused or restricted. */
  private static void assertEverythingBack(LeanMemoryBudget budget) {
    Conditions.await(() -> budget.usedBytes() == 0 && budget.pausedConnections() == 0
        && budget.restrictedConnections() == 0 && budget.promisedBytes() == 0, WAIT,
        budget::toString);
  }
}
