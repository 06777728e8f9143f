package dev.grpclean.interop.vthreads;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.testing.ByteMethods;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Lean with virtual threads as the application's executors (Java 21+; skipped on older JVMs, run
 * by {@code scripts/test-java25}): {@code Executors.newVirtualThreadPerTaskExecutor()} is both the
 * server's and the channels' executor, and 10,000 bidirectional-streaming calls, each driven by a
 * virtual thread that blocks for every reply, are all open at once before any finishes. Nothing
 * may deadlock, every call must succeed, and JFR's {@code jdk.VirtualThreadPinned} must record no
 * virtual thread pinned with a transport frame on its stack (blocked while the transport holds a
 * monitor or is in native code).
 *
 * <p>The project compiles for Java 17, so the virtual-thread executor is looked up reflectively.
 * Thread-compatible: the JUnit thread drives; each call's state is confined to its virtual thread,
 * shared counters are atomic.
 */
@RunWith(JUnit4.class)
public class VirtualThreadStreamingTest {
  @ClassRule public static final Timeout CLASS_TIMEOUT = Timeout.seconds(600);

  @Rule
  public final Timeout timeout =
      Timeout.builder().withTimeout(300, TimeUnit.SECONDS).withLookingForStuckThread(true).build();

  @Rule public final TemporaryFolder temp = new TemporaryFolder();

  private static final int CALLS = 10_000;
  private static final int WARM_UP_CALLS = 200;
  private static final int MESSAGES_PER_CALL = 4;
  private static final int MESSAGE_BYTES = 128;
  /** Calls are spread over a few connections, 2,500 concurrent streams on each. */
  private static final int CHANNELS = 4;
  /** Bound on each wait; generous for 10,000 calls on a busy 2-core machine. */
  private static final long WAIT_SECONDS = 120;

  private static final MethodDescriptor<byte[], byte[]> ECHO =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodType.BIDI_STREAMING)
          .setFullMethodName("grpclean.vthreads.Echo/Echo")
          .setRequestMarshaller(ByteMethods.MARSHALLER)
          .setResponseMarshaller(ByteMethods.MARSHALLER)
          .build();

  /** Marks the end of a call's replies in its inbox. */
  private static final Object END = new Object();

  private final List<ManagedChannel> channels = new ArrayList<>();
  private Server server;
  private ExecutorService virtualThreads;

  @After
  public void tearDown() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    if (server != null) {
      server.shutdownNow();
    }
    for (ManagedChannel c : channels) {
      assertTrue("channel terminates", c.awaitTermination(10, TimeUnit.SECONDS));
    }
    if (server != null) {
      assertTrue("server terminates", server.awaitTermination(10, TimeUnit.SECONDS));
    }
    if (virtualThreads != null) {
      virtualThreads.shutdownNow();
    }
  }

  @Test
  public void tenThousandConcurrentStreamingCallsOnVirtualThreads() throws Exception {
    assumeTrue("virtual threads need Java 21+", Runtime.version().feature() >= 21);
    virtualThreads = (ExecutorService)
        Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);

    ServerServiceDefinition echo = ServerServiceDefinition.builder("grpclean.vthreads.Echo")
        .addMethod(ECHO, ServerCalls.asyncBidiStreamingCall(reply -> new StreamObserver<byte[]>() {
          @Override
          public void onNext(byte[] message) {
            reply.onNext(message);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {
            reply.onCompleted();
          }
        }))
        .build();
    server = LeanServerBuilder.forPort(0).executor(virtualThreads).addService(echo).build().start();
    for (int i = 0; i < CHANNELS; i++) {
      channels.add(LeanChannelBuilder.forAddress("localhost", server.getPort())
          .usePlaintext()
          .executor(virtualThreads)
          .build());
    }

    // Warm-up: the first calls load and initialize classes, and a virtual thread that waits for
    // the JVM's class loading or initialization is pinned (JDK 25 still cannot unmount there: a
    // native frame is on its stack). That is one-time JVM work with no transport lock held, so
    // JFR records only after it.
    runCalls(
        WARM_UP_CALLS, new CountDownLatch(WARM_UP_CALLS), new AtomicInteger(), new ArrayList<>());

    Recording recording = new Recording();
    recording.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ZERO).withStackTrace();
    recording.start();

    CountDownLatch allOpen = new CountDownLatch(CALLS);
    AtomicInteger succeeded = new AtomicInteger();
    long start = System.nanoTime();
    List<String> failures = new ArrayList<>();
    runCalls(CALLS, allOpen, succeeded, failures);
    long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    recording.stop();
    Path dump = temp.getRoot().toPath().resolve("pinned.jfr");
    recording.dump(dump);
    recording.close();
    int pinned = 0;
    List<String> pinnedInTransport = new ArrayList<>();
    for (RecordedEvent event : RecordingFile.readAllEvents(dump)) {
      if (!event.getEventType().getName().equals("jdk.VirtualThreadPinned")) {
        continue;
      }
      pinned++;
      if (event.getStackTrace() != null && event.getStackTrace().getFrames().stream()
          .map(RecordedFrame::getMethod)
          .anyMatch(m -> m.getType().getName().startsWith("dev.grpclean.transport"))) {
        pinnedInTransport.add(describe(event));
      }
    }
    Files.deleteIfExists(dump);
    System.out.printf("VTHREADS Java %s: %d calls x %d messages, all %d open at once, %d ok,"
            + " %d ms; jdk.VirtualThreadPinned events after warm-up: %d, with a transport frame:"
            + " %d%n",
        Runtime.version(), CALLS, MESSAGES_PER_CALL, CALLS, succeeded.get(), elapsedMillis,
        pinned, pinnedInTransport.size());
    assertEquals("virtual threads pinned in the transport: " + pinnedInTransport,
        0, pinnedInTransport.size());
  }

  /**
   * Runs {@code n} calls, each on a virtual thread of its own, all open at once ({@code allOpen}
   * counts them in); waits for all of them.
   */
  private void runCalls(int n, CountDownLatch allOpen, AtomicInteger succeeded,
      List<String> failures) throws Exception {
    List<Future<?>> calls = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      ManagedChannel channel = channels.get(i % CHANNELS);
      int id = i;
      calls.add(virtualThreads.submit(() -> {
        runCall(channel, id, allOpen);
        succeeded.incrementAndGet();
        return null;
      }));
    }
    for (Future<?> call : calls) {
      try {
        call.get(WAIT_SECONDS, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (failures.size() < 10) {
          failures.add(String.valueOf(e.getCause()));
        }
      }
    }
    assertEquals("failed calls (first 10): " + failures, n, succeeded.get());
  }

  private static String describe(RecordedEvent event) {
    StringBuilder out = new StringBuilder()
        .append(event.getString("blockingOperation")).append(" / ")
        .append(event.getString("pinnedReason")).append(" / ")
        .append(event.getDuration().toNanos() / 1000).append(" us:");
    for (RecordedFrame f : event.getStackTrace().getFrames()) {
      out.append("\n    ").append(f.getMethod().getType().getName()).append('.')
          .append(f.getMethod().getName()).append(':').append(f.getLineNumber());
    }
    return out.toString();
  }

  /**
   * One call on the current (virtual) thread: sends a message and blocks for its echo, waits until
   * every call is open, then does the rest and blocks for the end.
   */
  private static void runCall(ManagedChannel channel, int id, CountDownLatch allOpen)
      throws Exception {
    BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    StreamObserver<byte[]> outbound = ClientCalls.asyncBidiStreamingCall(
        channel.newCall(ECHO, CallOptions.DEFAULT.withDeadlineAfter(WAIT_SECONDS, TimeUnit.SECONDS)),
        new StreamObserver<byte[]>() {
          @Override
          public void onNext(byte[] message) {
            inbox.add(message);
          }

          @Override
          public void onError(Throwable t) {
            inbox.add(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            inbox.add(END);
          }
        });
    for (int m = 0; m < MESSAGES_PER_CALL; m++) {
      byte[] message = new byte[MESSAGE_BYTES];
      Arrays.fill(message, (byte) (id + m));
      outbound.onNext(message);
      Object reply = inbox.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      if (!(reply instanceof byte[]) || !Arrays.equals(message, (byte[]) reply)) {
        throw new AssertionError("call " + id + " message " + m + ": " + reply);
      }
      if (m == 0) {
        allOpen.countDown();
        if (!allOpen.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
          throw new AssertionError(allOpen.getCount() + " calls did not open");
        }
      }
    }
    outbound.onCompleted();
    Object end = inbox.poll(WAIT_SECONDS, TimeUnit.SECONDS);
    if (end != END) {
      throw new AssertionError("call " + id + " end: " + end);
    }
  }
}
