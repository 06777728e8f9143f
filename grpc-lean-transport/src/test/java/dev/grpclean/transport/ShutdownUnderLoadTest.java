package dev.grpclean.transport;

import static dev.grpclean.transport.FaultFixtures.await;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.contract.ServerTransportCounter;
import dev.grpclean.transport.testing.Conditions;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.Observers;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Shutdown while many calls are in flight: unary, server-streaming and bidi calls started together
 * from several threads, all parked in their server handlers, then the server or the channel shuts
 * down, gracefully or now. Graceful: the calls in flight finish normally and new ones are refused
 * UNAVAILABLE. Now: every call ends CANCELLED or UNAVAILABLE and every handler sees its cancel.
 * Either way every lease comes back and the dedicated poller threads of the side that shut down
 * exit.
 *
 * <p>Threads: {@link #STARTER_THREADS} starters begin their calls together at a barrier; server
 * handlers park each call on {@link #release}, which the JUnit thread completes, so that the
 * deferred responses run on the JUnit thread (each call's observer is used by one thread at a
 * time: its handler, then the completer); call outcomes arrive on grpc-core's threads as futures.
 */
public class ShutdownUnderLoadTest {
  private static final Logger log = Logger.getLogger(ShutdownUnderLoadTest.class.getName());
  private static final int STARTER_THREADS = 4;
  /** Calls of each kind per starter thread. */
  private static final int CALLS_PER_KIND = 2;
  private static final int CALLS = STARTER_THREADS * CALLS_PER_KIND * 3;
  /** Messages of each server-streaming response: one at once, the rest after release. */
  private static final int STREAM_MESSAGES = 8;
  /** Bytes of each server-streaming message: several frames, so buffers are in play. */
  private static final int STREAM_MESSAGE_BYTES = 40 * 1024;
  private static final int POLLER_THREADS = 2;
  private static final Set<Status.Code> ENDED_NOW =
      EnumSet.of(Status.Code.CANCELLED, Status.Code.UNAVAILABLE);

  @Rule public final Timeout timeout = Timeout.seconds(120);

  private final ServerTransportCounter transports = new ServerTransportCounter();
  /** Counted down as each call reaches its server handler. */
  private final CountDownLatch entered = new CountDownLatch(CALLS);
  /** Counted down by each server call's cancel handler. */
  private final CountDownLatch cancelled = new CountDownLatch(CALLS);
  /** Completed by the test: the parked server handlers go on. */
  private final CompletableFuture<Void> release = new CompletableFuture<>();
  private final Queue<InFlightCall> calls = new ConcurrentLinkedQueue<>();
  private final ExecutorService starters = Executors.newFixedThreadPool(STARTER_THREADS);
  private Server server;
  private ManagedChannel channel;
  private Set<Thread> serverPollers;
  private Set<Thread> channelPollers;
  private long baseline;

  @Before
  public void setUp() throws Exception {
    baseline = LeanLeases.baseline();
    Set<Thread> before = FaultFixtures.pollerThreads();
    server = LeanServerBuilder.forPort(0)
        .pollerThreads(POLLER_THREADS)
        .addTransportFilter(transports)
        .addService(parkingService())
        .build()
        .start();
    serverPollers = FaultFixtures.newPollerThreads(before);
    assertEquals("server poller threads " + serverPollers, POLLER_THREADS, serverPollers.size());
    before = FaultFixtures.pollerThreads();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext()
        .pollerThreads(POLLER_THREADS)
        .build();
    channelPollers = FaultFixtures.newPollerThreads(before);
    assertEquals("channel poller threads " + channelPollers, POLLER_THREADS,
        channelPollers.size());
  }

  @After
  public void tearDown() throws InterruptedException {
    release.complete(null);
    starters.shutdownNow();
    channel.shutdownNow();
    server.shutdownNow();
    assertTrue("channel terminates", channel.awaitTermination(10, TimeUnit.SECONDS));
    assertTrue("server terminates", server.awaitTermination(10, TimeUnit.SECONDS));
  }

  @Test
  public void gracefulServerShutdownFinishesCallsInFlightAndRefusesNewOnes() throws Exception {
    startLoad();

    server.shutdown();
    // The GOAWAY reached the channel: its transport is draining, so it is READY no more.
    Conditions.awaitState(channel, s -> s != ConnectivityState.READY, FaultFixtures.WAIT);
    assertNewCallFails(Status.Code.UNAVAILABLE);
    // Bidi calls in flight still take requests.
    for (InFlightCall c : calls) {
      c.sendSecondBidiRequest();
    }

    release.complete(null);
    for (InFlightCall c : calls) {
      c.assertCompletedNormally();
    }
    assertTrue("server terminates", server.awaitTermination(20, TimeUnit.SECONDS));
    assertEquals("connections", 1, transports.ready());
    assertEquals("terminated connections", 1, transports.terminated());
    LeanLeases.assertBackTo(baseline);
    FaultFixtures.assertThreadsExit(serverPollers);
  }

  @Test
  public void serverShutdownNowEndsEveryCallInFlight() throws Exception {
    startLoad();

    server.shutdownNow();
    assertAllEndedWithOneOf(ENDED_NOW);
    await(cancelled, "every server call's onCancel");
    assertNewCallFails(Status.Code.UNAVAILABLE);
    assertTrue("server terminates", server.awaitTermination(20, TimeUnit.SECONDS));
    // Handlers that answer late, into cancelled calls, must not leave anything behind either.
    release.complete(null);
    LeanLeases.assertBackTo(baseline);
    FaultFixtures.assertThreadsExit(serverPollers);
  }

  @Test
  public void gracefulChannelShutdownFinishesCallsInFlightAndRefusesNewOnes() throws Exception {
    startLoad();

    channel.shutdown();
    assertNewCallFails(Status.Code.UNAVAILABLE);
    for (InFlightCall c : calls) {
      c.sendSecondBidiRequest();
    }
    release.complete(null);
    for (InFlightCall c : calls) {
      c.assertCompletedNormally();
    }
    assertTrue("channel terminates", channel.awaitTermination(20, TimeUnit.SECONDS));
    transports.awaitTerminated(1, FaultFixtures.WAIT);
    LeanLeases.assertBackTo(baseline);
    FaultFixtures.assertThreadsExit(channelPollers);
  }

  @Test
  public void channelShutdownNowEndsEveryCallInFlight() throws Exception {
    startLoad();

    channel.shutdownNow();
    assertAllEndedWithOneOf(ENDED_NOW);
    await(cancelled, "every server call's onCancel");
    assertNewCallFails(Status.Code.UNAVAILABLE);
    assertTrue("channel terminates", channel.awaitTermination(20, TimeUnit.SECONDS));
    transports.awaitTerminated(1, FaultFixtures.WAIT);
    release.complete(null);
    LeanLeases.assertBackTo(baseline);
    FaultFixtures.assertThreadsExit(channelPollers);
  }

  /**
   * A call whose last frames are in, but whose messages the application has not asked for yet,
   * outlives its channel's transport: graceful shutdown lets the channel terminate and stop its
   * own poller threads, since the transport is done with the stream. grpc-core still needs a
   * "transport thread" for each later {@code request()}; the rest of the response and its OK
   * status must still reach the application.
   */
  @Test
  public void finishedCallStillDeliversAfterItsChannelTerminated() throws Exception {
    release.complete(null); // the download sends every message and completes at once
    BlockingQueue<byte[]> messages = new LinkedBlockingQueue<>();
    CompletableFuture<Status> closed = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(FaultFixtures.DOWNLOAD,
        callOptions());
    call.start(new ClientCall.Listener<byte[]>() {
      @Override
      public void onMessage(byte[] message) {
        messages.add(message);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.sendMessage(message(1, 4));
    call.halfClose();
    call.request(1);
    assertArrayEquals(message(1, STREAM_MESSAGE_BYTES),
        messages.poll(FaultFixtures.WAIT.toMillis(), TimeUnit.MILLISECONDS));

    channel.shutdown();
    // Terminates once the transport has the whole response (the stream is done on the wire).
    assertTrue("channel terminates", channel.awaitTermination(20, TimeUnit.SECONDS));
    FaultFixtures.assertThreadsExit(channelPollers);

    call.request(STREAM_MESSAGES);
    Status status = await(closed, "the call's end");
    assertEquals(status.toString(), Status.Code.OK, status.getCode());
    assertEquals("messages", STREAM_MESSAGES - 1, messages.size());
    LeanLeases.assertBackTo(baseline);
  }

  /**
   * Starts every call from the starter threads at once, and returns once all of them are parked
   * in their server handlers and every bidi call has had its first request echoed.
   */
  private void startLoad() throws Exception {
    CyclicBarrier together = new CyclicBarrier(STARTER_THREADS);
    List<Future<?>> started = new ArrayList<>();
    for (int t = 0; t < STARTER_THREADS; t++) {
      int thread = t;
      started.add(starters.submit(() -> {
        together.await();
        for (int i = 0; i < CALLS_PER_KIND; i++) {
          int id = (thread * CALLS_PER_KIND + i) * 3;
          calls.add(InFlightCall.unary(channel, id));
          calls.add(InFlightCall.serverStreaming(channel, id + 1));
          calls.add(InFlightCall.bidi(channel, id + 2));
        }
        return null;
      }));
    }
    for (Future<?> f : started) {
      await(f, "a starter thread");
    }
    await(entered, "every call reaching its server handler");
    for (InFlightCall c : calls) {
      c.awaitFirstBidiEcho();
    }
    assertEquals(CALLS, calls.size());
  }

  /** Asserts every call ended with one of {@code codes}; logs how many ended with which. */
  private void assertAllEndedWithOneOf(Set<Status.Code> codes) throws InterruptedException {
    Map<Status.Code, Integer> seen = new TreeMap<>();
    for (InFlightCall c : calls) {
      seen.merge(c.assertEndedWithOneOf(codes), 1, Integer::sum);
    }
    log.info("calls in flight ended with " + seen);
  }

  private void assertNewCallFails(Status.Code code) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> ClientCalls.blockingUnaryCall(channel, FaultFixtures.UNARY, callOptions(),
            new byte[] {1}));
    assertEquals(e.getStatus().toString(), code, e.getStatus().getCode());
  }

  private static CallOptions callOptions() {
    return CallOptions.DEFAULT.withDeadlineAfter(FaultFixtures.WAIT.toMillis() * 2,
        TimeUnit.MILLISECONDS);
  }

  /** Call {@code id}'s request, and its response's messages: the id in a message of size. */
  private static byte[] message(int id, int size) {
    return ByteBuffer.allocate(size).putInt(id).array();
  }

  /**
   * Unary: echoes once released. Server streaming: one message at once, the rest once released.
   * Bidi: echoes every request at once, completes when the client does. Each counts itself in
   * {@link #entered} and its cancel in {@link #cancelled}.
   */
  private ServerServiceDefinition parkingService() {
    return ServerServiceDefinition.builder(FaultFixtures.SERVICE)
        .addMethod(FaultFixtures.UNARY, ServerCalls.asyncUnaryCall((request, responses) -> {
          enter(responses);
          release.thenRun(() -> {
            responses.onNext(request);
            responses.onCompleted();
          });
        }))
        .addMethod(FaultFixtures.DOWNLOAD, ServerCalls.asyncServerStreamingCall(
            (request, responses) -> {
              enter(responses);
              int id = ByteBuffer.wrap(request).getInt();
              responses.onNext(message(id, STREAM_MESSAGE_BYTES));
              release.thenRun(() -> {
                for (int i = 1; i < STREAM_MESSAGES; i++) {
                  responses.onNext(message(id, STREAM_MESSAGE_BYTES));
                }
                responses.onCompleted();
              });
            }))
        .addMethod(FaultFixtures.BIDI, ServerCalls.asyncBidiStreamingCall(responses -> {
          enter(responses);
          return Observers.echoingTo(responses);
        }))
        .build();
  }

  /** Handler thread: counts the call in, and its cancel when it comes. */
  private void enter(StreamObserver<byte[]> responses) {
    // Also keeps onNext on a cancelled streaming call from throwing: it is a no-op then.
    ((ServerCallStreamObserver<byte[]>) responses).setOnCancelHandler(cancelled::countDown);
    entered.countDown();
  }

  /**
   * One client call and what came back. Thread-safe: started on a starter thread, driven by the
   * JUnit thread, completed by grpc-core's threads through futures.
   */
  private static final class InFlightCall {
    private final String kind;
    private final int id;
    final CompletableFuture<Status> status = new CompletableFuture<>();
    final Queue<byte[]> received = new ConcurrentLinkedQueue<>();
    final CountDownLatch firstMessage = new CountDownLatch(1);
    /** Bidi only: the request side. */
    StreamObserver<byte[]> requests;

    private InFlightCall(String kind, int id) {
      this.kind = kind;
      this.id = id;
    }

    static InFlightCall unary(ManagedChannel channel, int id) {
      InFlightCall c = new InFlightCall("unary", id);
      ClientCalls.asyncUnaryCall(channel.newCall(FaultFixtures.UNARY, callOptions()),
          message(id, 4), c.observer());
      return c;
    }

    static InFlightCall serverStreaming(ManagedChannel channel, int id) {
      InFlightCall c = new InFlightCall("server-streaming", id);
      ClientCalls.asyncServerStreamingCall(channel.newCall(FaultFixtures.DOWNLOAD, callOptions()),
          message(id, 4), c.observer());
      return c;
    }

    static InFlightCall bidi(ManagedChannel channel, int id) {
      InFlightCall c = new InFlightCall("bidi", id);
      c.requests = ClientCalls.asyncBidiStreamingCall(
          channel.newCall(FaultFixtures.BIDI, callOptions()), c.observer());
      c.requests.onNext(message(id, 4));
      return c;
    }

    void awaitFirstBidiEcho() throws InterruptedException {
      if (requests != null) {
        await(firstMessage, this + ": the echo of its first request");
      }
    }

    /** Bidi only: a second request, then the end of requests. */
    void sendSecondBidiRequest() {
      if (requests != null) {
        requests.onNext(message(id, 8));
        requests.onCompleted();
      }
    }

    void assertCompletedNormally() throws InterruptedException {
      Status s = await(status, this + " ending");
      assertEquals(this + ": " + s, Status.Code.OK, s.getCode());
      List<byte[]> got = new ArrayList<>(received);
      switch (kind) {
        case "unary":
          assertEquals(this.toString(), 1, got.size());
          assertArrayEquals(this.toString(), message(id, 4), got.get(0));
          break;
        case "server-streaming":
          assertEquals(this.toString(), STREAM_MESSAGES, got.size());
          for (byte[] m : got) {
            assertArrayEquals(this.toString(), message(id, STREAM_MESSAGE_BYTES), m);
          }
          break;
        default:
          assertEquals(this.toString(), 2, got.size());
          assertArrayEquals(this.toString(), message(id, 4), got.get(0));
          assertArrayEquals(this.toString(), message(id, 8), got.get(1));
      }
    }

    Status.Code assertEndedWithOneOf(Set<Status.Code> codes) throws InterruptedException {
      Status s = await(status, this + " ending");
      assertTrue(this + ": " + s, codes.contains(s.getCode()));
      return s.getCode();
    }

    private StreamObserver<byte[]> observer() {
      return new StreamObserver<byte[]>() {
        @Override
        public void onNext(byte[] value) {
          received.add(value);
          firstMessage.countDown();
        }

        @Override
        public void onError(Throwable t) {
          status.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
          status.complete(Status.OK);
        }
      };
    }

    @Override
    public String toString() {
      return kind + " call " + id;
    }
  }
}
