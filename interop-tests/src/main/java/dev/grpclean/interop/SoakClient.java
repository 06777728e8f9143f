package dev.grpclean.interop;

import com.google.protobuf.ByteString;
import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanTransportStats;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.testing.integration.Messages.EchoStatus;
import io.grpc.testing.integration.Messages.Payload;
import io.grpc.testing.integration.Messages.ResponseParameters;
import io.grpc.testing.integration.Messages.SimpleRequest;
import io.grpc.testing.integration.Messages.SimpleResponse;
import io.grpc.testing.integration.Messages.StreamingOutputCallRequest;
import io.grpc.testing.integration.Messages.StreamingOutputCallResponse;
import io.grpc.testing.integration.TestServiceGrpc;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.BiConsumer;

/**
 * The soak client command: a mixed workload on lean channels against grpc's test service for a
 * bounded time. Worker threads each run one call at a time, choosing an {@link Op} by weight and
 * a channel at random: unary calls, server-streaming and ping-pong full-duplex streams, calls
 * cancelled while the server waits or while data is in flight, deadlines that expire while the
 * server waits, mid-stream, or racing a large response. Every {@code --churn_seconds} one channel
 * is replaced by a fresh one and the old one closed, alternately gracefully ({@code shutdown}) and
 * abruptly ({@code shutdownNow}), so connections come and go; odd channels use a 64 KiB flow
 * control window so streams block on flow control, even ones the default.
 *
 * <p>Every outcome is counted by operation and status code. An outcome is unexpected when its code
 * is not one its operation can legitimately end with (UNAVAILABLE is legitimate only on a channel
 * the churn already closed, and only with grpc-core's own description of a shutdown), when a
 * response does not match its request, or when a call has not ended 15 s after its deadline. The
 * command prints the counts, then {@code soak-client PASS|FAIL ...}, and exits 0 on a pass, 1 on
 * any unexpected outcome, on an operation that never showed its characteristic code (a deadline
 * that never expired), on a channel that did not terminate, or on a lease left outstanding in this
 * JVM once every channel terminated.
 *
 * <p>Threads: main parses flags, runs the workers and reports; {@code --workers} threads run calls;
 * one scheduler thread churns channels and prints progress, another fires scheduled cancellations;
 * grpc's executor threads deliver responses (and send the next ping of a ping-pong).
 */
public final class SoakClient {
  private static final int EXIT_FAILED = 1;
  private static final int KIB = 1024;
  private static final int MIB = 1024 * KIB;
  /** Window of the odd channels: as grpc's interop suite uses, so streams block often. */
  private static final int SMALL_WINDOW = 64 * KIB;
  /** Deadline of calls expected to succeed; generous, as the machine is shared. */
  private static final long OK_DEADLINE_MILLIS = 20_000;
  /** A call with a deadline that has not ended this long after it is hung. */
  private static final long HANG_MARGIN_MILLIS = 15_000;
  private static final long TERMINATION_WAIT_SECONDS = 30;
  private static final long LEASE_RETURN_WAIT_MILLIS = 5_000;
  /**
   * How grpc-core words the status of calls on a channel being shut down: "Channel shutdown
   * invoked" for calls started after shutdown, "Channel shutdownNow invoked" for those it kills.
   */
  static final String CHURN_DESCRIPTION = "Channel shutdown";
  static final String ECHOED_MESSAGE = "soak: status echoed on request";
  private static final ByteString ONE_MIB = ByteString.copyFrom(new byte[MIB]);

  private static final Set<String> FLAGS =
      Set.of(
          "server_host", "server_port", "duration_secs", "channels", "workers", "churn_seconds",
          "progress_seconds");
  private static final String USAGE =
      "Usage: soak-client --server_port=PORT [--flag=value ...]\n"
          + "  --server_host=HOST      Default localhost\n"
          + "  --server_port=PORT      required\n"
          + "  --duration_secs=S       how long to start new calls. Default 60\n"
          + "  --channels=N            lean channels. Default 4\n"
          + "  --workers=N             threads each running one call at a time. Default 8\n"
          + "  --churn_seconds=S       replace one channel every S seconds, 0 never. Default 5\n"
          + "  --progress_seconds=S    print a progress line every S seconds. Default 30\n";

  /**
   * What a worker can run: its weight in the mix and the codes it may end with, the first of
   * which must be seen at least once in a run (so a deadline that never expires is a failure).
   */
  enum Op {
    UNARY(8, Status.Code.OK),
    UNARY_ERROR_STATUS(1, Status.Code.FAILED_PRECONDITION),
    SERVER_STREAM(4, Status.Code.OK),
    BIDI_PING_PONG(4, Status.Code.OK),
    CANCEL_WHILE_WAITING(1, Status.Code.CANCELLED),
    CANCEL_MID_STREAM(2, Status.Code.CANCELLED),
    CANCEL_MID_UPLOAD(1, Status.Code.CANCELLED, Status.Code.OK),
    DEADLINE_WHILE_WAITING(1, Status.Code.DEADLINE_EXCEEDED),
    DEADLINE_MID_STREAM(1, Status.Code.DEADLINE_EXCEEDED),
    DEADLINE_RACING_RESPONSE(1, Status.Code.DEADLINE_EXCEEDED, Status.Code.OK);

    final int weight;
    final Status.Code characteristic;
    final Set<Status.Code> expected;

    Op(int weight, Status.Code characteristic, Status.Code... alsoExpected) {
      this.weight = weight;
      this.characteristic = characteristic;
      this.expected = EnumSet.of(characteristic, alsoExpected);
    }

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final String host;
  private final int port;
  private final int workers;
  private final Op[] mix;
  private final AtomicReferenceArray<Slot> slots;
  private final ScheduledExecutorService cancels =
      Executors.newSingleThreadScheduledExecutor(daemon("soak-cancels"));
  private final SoakOutcomes outcomes = new SoakOutcomes();
  private final AtomicLong churned = new AtomicLong();
  private volatile boolean stopping;

  private SoakClient(String host, int port, int channels, int workers) {
    this.host = host;
    this.port = port;
    this.workers = workers;
    List<Op> mix = new ArrayList<>();
    for (Op op : Op.values()) {
      for (int i = 0; i < op.weight; i++) {
        mix.add(op);
      }
    }
    this.mix = mix.toArray(new Op[0]);
    this.slots = new AtomicReferenceArray<>(channels);
    for (int i = 0; i < channels; i++) {
      slots.set(i, newSlot(i));
    }
  }

  public static void main(String[] args) throws Exception {
    String host;
    int port;
    int durationSecs;
    int channels;
    int workers;
    int churnSeconds;
    int progressSeconds;
    try {
      Flags flags = Flags.parse(args, FLAGS);
      host = flags.string("server_host", "localhost");
      port = flags.integer("server_port", 0);
      durationSecs = flags.integer("duration_secs", 60);
      channels = flags.integer("channels", 4);
      workers = flags.integer("workers", 8);
      churnSeconds = flags.integer("churn_seconds", 5);
      progressSeconds = flags.integer("progress_seconds", 30);
      if (port <= 0 || durationSecs <= 0 || channels <= 0 || workers <= 0 || churnSeconds < 0
          || progressSeconds <= 0) {
        throw new Flags.UsageException(
            "--server_port, --duration_secs, --channels, --workers and --progress_seconds must be"
                + " positive, --churn_seconds at least 0");
      }
    } catch (Flags.UsageException e) {
      e.exitWithUsage(USAGE);
      return;
    }
    SoakClient client = new SoakClient(host, port, channels, workers);
    System.exit(client.run(durationSecs, churnSeconds, progressSeconds));
  }

  private int run(int durationSecs, int churnSeconds, int progressSeconds)
      throws InterruptedException {
    long start = System.nanoTime();
    ScheduledExecutorService scheduler =
        Executors.newSingleThreadScheduledExecutor(daemon("soak-churn"));
    if (churnSeconds > 0) {
      scheduler.scheduleWithFixedDelay(this::churnOne, churnSeconds, churnSeconds,
          TimeUnit.SECONDS);
    }
    scheduler.scheduleAtFixedRate(
        () -> System.out.println(
            "soak-client: " + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) + "s, "
                + outcomes.calls() + " calls, " + outcomes.unexpected() + " unexpected, "
                + churned.get() + " channels churned"),
        progressSeconds, progressSeconds, TimeUnit.SECONDS);
    System.out.println("soak-client: " + slots.length() + " lean channels to " + host + ":" + port
        + ", " + workers + " workers, " + durationSecs + "s, churn every " + churnSeconds + "s");

    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < workers; i++) {
      Thread t = new Thread(this::work, "soak-worker-" + i);
      t.start();
      threads.add(t);
    }
    TimeUnit.SECONDS.sleep(durationSecs); // the run's length, not a synchronisation
    stopping = true;
    for (Thread t : threads) {
      t.join(); // each ends within its last call's deadline plus the hang margin
    }
    scheduler.shutdown();
    if (!scheduler.awaitTermination(TERMINATION_WAIT_SECONDS * 2, TimeUnit.SECONDS)) {
      outcomes.fail("the churn task did not finish");
    }
    cancels.shutdownNow();

    List<Slot> toClose = new ArrayList<>();
    for (int i = 0; i < slots.length(); i++) {
      toClose.add(slots.get(i));
      slots.get(i).channel.shutdown();
    }
    for (Slot slot : toClose) {
      awaitTerminated(slot, "at the end");
    }
    checkClientLeases();
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
    return report(seconds);
  }

  /** A worker: calls until the run ends. */
  private void work() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    while (!stopping) {
      Op op = mix[random.nextInt(mix.length)];
      Slot slot = slots.get(random.nextInt(slots.length()));
      try {
        runOne(op, slot, random);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        outcomes.unexpected(op, "EXCEPTION", "starting the call: " + e);
      }
    }
  }

  private void runOne(Op op, Slot slot, ThreadLocalRandom random) throws InterruptedException {
    TestServiceGrpc.TestServiceStub stub = slot.stub;
    SoakCall<?, ?> call;
    long deadlineMillis = OK_DEADLINE_MILLIS;
    switch (op) {
      case UNARY: {
        int responseSize = random.nextInt(64 * KIB + 1);
        call = unary(stub, deadlineMillis,
            unaryRequest(random.nextInt(16 * KIB + 1), responseSize),
            (c, response) -> c.checkSize(response.getPayload(), responseSize));
        break;
      }
      case UNARY_ERROR_STATUS: {
        SimpleRequest request = SimpleRequest.newBuilder()
            .setResponseStatus(EchoStatus.newBuilder()
                .setCode(Status.Code.FAILED_PRECONDITION.value())
                .setMessage(ECHOED_MESSAGE))
            .build();
        call = unary(stub, deadlineMillis, request, (c, r) -> c.bad("a response to an error"));
        break;
      }
      case SERVER_STREAM: {
        List<Integer> sizes = randomSizes(random, 1 + random.nextInt(16), 32 * KIB);
        call = serverStream(stub, deadlineMillis, streamRequest(sizes, 0), sizes.size(),
            (c, response) -> c.checkSize(response.getPayload(), sizes.get(c.responses - 1)));
        break;
      }
      case BIDI_PING_PONG: {
        List<Integer> sizes = randomSizes(random, 1 + random.nextInt(8), 16 * KIB);
        SoakCall<StreamingOutputCallRequest, StreamingOutputCallResponse> pingPong =
            duplex(stub, deadlineMillis, sizes.size(), (c, response) -> {
              c.checkSize(response.getPayload(), sizes.get(c.responses - 1));
              if (c.responses < sizes.size()) {
                c.send(streamRequest(List.of(sizes.get(c.responses)), 0));
              } else {
                c.halfClose();
              }
            });
        pingPong.send(streamRequest(List.of(sizes.get(0)), 0));
        call = pingPong;
        break;
      }
      case CANCEL_WHILE_WAITING: {
        // The server answers after 2 s; the client gives up after up to 50 ms.
        call = serverStream(stub, deadlineMillis, streamRequest(List.of(KIB), 2_000_000), -1,
            (c, r) -> c.bad("a response before the cancellation"));
        cancelAfter(call, random.nextInt(51));
        break;
      }
      case CANCEL_MID_STREAM: {
        // 2 MiB on its way; cancelled on the first, second or third response.
        int cancelAt = 1 + random.nextInt(3);
        BiConsumer<SoakCall<StreamingOutputCallRequest, StreamingOutputCallResponse>,
            StreamingOutputCallResponse> onResponse = (c, r) -> {
              if (c.responses == cancelAt) {
                c.requests().cancel("soak: cancelled mid-stream", null);
              }
            };
        StreamingOutputCallRequest request = streamRequest(nCopies(32, 64 * KIB), 0);
        if (random.nextBoolean()) {
          call = serverStream(stub, deadlineMillis, request, -1, onResponse);
        } else {
          SoakCall<StreamingOutputCallRequest, StreamingOutputCallResponse> duplex =
              duplex(stub, deadlineMillis, -1, onResponse);
          duplex.send(request);
          call = duplex;
        }
        break;
      }
      case CANCEL_MID_UPLOAD: {
        // A 1 MiB request cancelled after 0 to 3 ms: mostly mid-send, sometimes after the end.
        call = unary(stub, deadlineMillis, unaryRequest(MIB, 0), (c, r) -> { });
        cancelAfter(call, random.nextInt(4));
        break;
      }
      case DEADLINE_WHILE_WAITING: {
        deadlineMillis = 20 + random.nextInt(181);
        call = serverStream(stub, deadlineMillis, streamRequest(List.of(KIB), 1_000_000), -1,
            (c, r) -> c.bad("a response after the deadline"));
        break;
      }
      case DEADLINE_MID_STREAM: {
        // Two responses at once, the third after 2 s; the deadline falls in between.
        deadlineMillis = 300;
        StreamingOutputCallRequest request = StreamingOutputCallRequest.newBuilder()
            .addResponseParameters(ResponseParameters.newBuilder().setSize(16 * KIB))
            .addResponseParameters(ResponseParameters.newBuilder().setSize(16 * KIB))
            .addResponseParameters(
                ResponseParameters.newBuilder().setSize(16 * KIB).setIntervalUs(2_000_000))
            .build();
        SoakCall<StreamingOutputCallRequest, StreamingOutputCallResponse> duplex =
            duplex(stub, deadlineMillis, -1, (c, r) -> {
              if (c.responses > 2) {
                c.bad("a response after the deadline");
              }
            });
        duplex.send(request);
        call = duplex;
        break;
      }
      case DEADLINE_RACING_RESPONSE: {
        // 1 MiB back within 2 to 10 ms: mostly cut off mid-response.
        deadlineMillis = 2 + random.nextInt(9);
        call = unary(stub, deadlineMillis, unaryRequest(0, MIB),
            (c, response) -> c.checkSize(response.getPayload(), MIB));
        break;
      }
      default:
        throw new AssertionError(op);
    }
    Status status;
    try {
      status = call.closed.get(deadlineMillis + HANG_MARGIN_MILLIS, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      call.requests().cancel("soak: hung", null);
      outcomes.unexpected(op, "HUNG", "no end " + HANG_MARGIN_MILLIS + " ms after a "
          + deadlineMillis + " ms deadline");
      return;
    } catch (ExecutionException e) {
      throw new AssertionError("the future is only ever completed normally", e);
    }
    outcomes.record(op, status, slot.retired, call.problem());
  }

  private static SoakCall<SimpleRequest, SimpleResponse> unary(
      TestServiceGrpc.TestServiceStub stub, long deadlineMillis, SimpleRequest request,
      BiConsumer<SoakCall<SimpleRequest, SimpleResponse>, SimpleResponse> onResponse) {
    SoakCall<SimpleRequest, SimpleResponse> call = new SoakCall<>(1, onResponse);
    stub.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS).unaryCall(request, call);
    return call;
  }

  private static SoakCall<StreamingOutputCallRequest, StreamingOutputCallResponse> serverStream(
      TestServiceGrpc.TestServiceStub stub, long deadlineMillis,
      StreamingOutputCallRequest request, int expectedResponses,
      BiConsumer<SoakCall<StreamingOutputCallRequest, StreamingOutputCallResponse>,
          StreamingOutputCallResponse> onResponse) {
    SoakCall<StreamingOutputCallRequest, StreamingOutputCallResponse> call =
        new SoakCall<>(expectedResponses, onResponse);
    stub.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS)
        .streamingOutputCall(request, call);
    return call;
  }

  private static SoakCall<StreamingOutputCallRequest, StreamingOutputCallResponse> duplex(
      TestServiceGrpc.TestServiceStub stub, long deadlineMillis, int expectedResponses,
      BiConsumer<SoakCall<StreamingOutputCallRequest, StreamingOutputCallResponse>,
          StreamingOutputCallResponse> onResponse) {
    SoakCall<StreamingOutputCallRequest, StreamingOutputCallResponse> call =
        new SoakCall<>(expectedResponses, onResponse);
    stub.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS).fullDuplexCall(call);
    return call;
  }

  private void cancelAfter(SoakCall<?, ?> call, long millis) {
    cancels.schedule(
        () -> call.requests().cancel("soak: cancelled by the client", null),
        millis, TimeUnit.MILLISECONDS);
  }

  private static SimpleRequest unaryRequest(int requestSize, int responseSize) {
    ByteString body = requestSize == MIB ? ONE_MIB : ONE_MIB.substring(0, requestSize);
    return SimpleRequest.newBuilder()
        .setResponseSize(responseSize)
        .setPayload(Payload.newBuilder().setBody(body))
        .build();
  }

  private static StreamingOutputCallRequest streamRequest(List<Integer> sizes, int intervalUs) {
    StreamingOutputCallRequest.Builder request = StreamingOutputCallRequest.newBuilder();
    for (int size : sizes) {
      request.addResponseParameters(
          ResponseParameters.newBuilder().setSize(size).setIntervalUs(intervalUs));
    }
    return request.build();
  }

  private static List<Integer> randomSizes(ThreadLocalRandom random, int count, int maxSize) {
    List<Integer> sizes = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      sizes.add(random.nextInt(maxSize + 1));
    }
    return sizes;
  }

  private static List<Integer> nCopies(int count, int size) {
    return Collections.nCopies(count, size);
  }

  /** Replaces the next channel in turn and closes the old one, then waits for it to end. */
  private void churnOne() {
    if (stopping) {
      return;
    }
    long n = churned.getAndIncrement();
    int index = (int) (n % slots.length());
    Slot old = slots.getAndSet(index, newSlot(index));
    old.retired = true;
    if (n % 2 == 0) {
      old.channel.shutdown();
    } else {
      old.channel.shutdownNow();
    }
    awaitTerminated(old, "churned with " + (n % 2 == 0 ? "shutdown" : "shutdownNow"));
  }

  private void awaitTerminated(Slot slot, String when) {
    try {
      if (!slot.channel.awaitTermination(TERMINATION_WAIT_SECONDS, TimeUnit.SECONDS)) {
        outcomes.fail("channel " + slot.index + " " + when + " did not terminate within "
            + TERMINATION_WAIT_SECONDS + "s");
        slot.channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private Slot newSlot(int index) {
    LeanChannelBuilder builder = LeanChannelBuilder.forAddress(host, port).usePlaintext();
    if (index % 2 == 1) {
      builder.flowControlWindow(SMALL_WINDOW);
    }
    return new Slot(index, builder.build());
  }

  /**
   * With every channel terminated, nothing in this JVM may hold a lease: the project's memory
   * invariant on the client side. A write's lease ends just after its flush, so this waits a
   * little, with a bound.
   */
  private void checkClientLeases() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LEASE_RETURN_WAIT_MILLIS);
    while (LeanTransportStats.leasedBytes() != 0 && System.nanoTime() < deadline) {
      Thread.sleep(20); // a bounded poll, like LeanLeases in the tests
    }
    if (LeanTransportStats.leasedBytes() != 0) {
      outcomes.fail("client leases outstanding with every channel terminated: "
          + LeanTransportStats.describe());
    }
  }

  private int report(long seconds) {
    System.out.println(outcomes.table());
    System.out.println("client pools at the end: " + LeanTransportStats.describe());
    for (Op op : Op.values()) {
      if (outcomes.count(op, op.characteristic.name()) == 0) {
        outcomes.fail(op.label() + " never ended with " + op.characteristic
            + ": the workload did not do what it should");
      }
    }
    List<String> failures = outcomes.failures();
    for (String failure : failures) {
      System.out.println("FAIL: " + failure);
    }
    String summary = outcomes.calls() + " calls in " + seconds + "s, " + outcomes.unexpected()
        + " unexpected, " + churned.get() + " channels churned";
    if (failures.isEmpty()) {
      System.out.println("soak-client PASS: " + summary);
      return 0;
    }
    System.out.println("soak-client FAIL: " + summary);
    return EXIT_FAILED;
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * One channel in use, and whether the churn has closed it: calls that were on it may then end
   * UNAVAILABLE. Thread-safe: the churn thread sets {@code retired} before closing the channel.
   */
  private static final class Slot {
    final int index;
    final ManagedChannel channel;
    final TestServiceGrpc.TestServiceStub stub;
    volatile boolean retired;

    Slot(int index, ManagedChannel channel) {
      this.index = index;
      this.channel = channel;
      this.stub = TestServiceGrpc.newStub(channel);
    }
  }
}
