package dev.grpclean.transport.contract;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.testing.Observers;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.StreamRecorder;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.After;
import org.junit.Rule;
import org.junit.function.ThrowingRunnable;
import org.junit.rules.Timeout;

/**
 * What every contract test needs besides its assertions: real servers and channels from the
 * pairing's factories, a transport counter on every server, and a teardown that shuts everything
 * down, waits for it, then lets the pairing check its own invariants.
 *
 * <p>Thread-compatible: used by the JUnit thread; tests hand work to other threads explicitly.
 */
public abstract class ContractTestBase {
  /** Bound on any single wait in a test; the rule below bounds the whole test. */
  protected static final Duration WAIT = Duration.ofSeconds(20);

  /** Deadline of an ordinary call: long enough never to fire unless something is stuck. */
  protected static final long CALL_DEADLINE_SECONDS = 30;

  /** Bound on shutting down what a test left running. */
  private static final Duration TERMINATION_WAIT = Duration.ofSeconds(10);

  @Rule
  public final Timeout timeout =
      Timeout.builder().withTimeout(60, TimeUnit.SECONDS).withLookingForStuckThread(true).build();

  /** Counts the transports of every server the test starts. */
  protected final ServerTransportCounter serverTransports = new ServerTransportCounter();

  /** For work a test runs off its own thread (blocking server handlers, for example). */
  protected final ExecutorService testExecutor = Executors.newCachedThreadPool();

  private final List<Server> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<Closeable> closeables = new ArrayList<>();

  /** The last server started. */
  protected Server server;

  /** The port the last server listens on. */
  protected int port;

  /** The last channel created. */
  protected ManagedChannel channel;

  /**
   * Returns a plaintext server builder for the pairing's server transport, listening on {@code
   * port} ({@code 0}: any free port).
   */
  protected abstract ServerBuilder<?> newServerBuilder(int port);

  /** Returns a plaintext channel builder for the pairing's client, to {@code localhost:port}. */
  protected abstract ManagedChannelBuilder<?> newChannelBuilder(int port);

  /** Sets the server transport's limit on concurrent calls (streams) per connection. */
  protected abstract void setMaxConcurrentCallsPerConnection(ServerBuilder<?> builder, int calls);

  /**
   * Checks the pairing's own invariants once every channel and server has terminated. Lean pairings
   * check here that no buffer is still leased.
   */
  protected void assertResourcesReleased() throws Exception {}

  @After
  public final void shutDownEverything() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    for (Server s : servers) {
      s.shutdownNow();
    }
    try {
      for (ManagedChannel c : channels) {
        assertTrue(
            "channel terminates", c.awaitTermination(seconds(TERMINATION_WAIT), TimeUnit.SECONDS));
      }
      for (Server s : servers) {
        assertTrue(
            "server terminates", s.awaitTermination(seconds(TERMINATION_WAIT), TimeUnit.SECONDS));
      }
    } finally {
      for (Closeable c : closeables) {
        c.close();
      }
      testExecutor.shutdownNow();
    }
    assertResourcesReleased();
  }

  /** Starts a server on a free port with {@code service}, configured by {@code configure}. */
  protected final Server startServer(
      ServerServiceDefinition service, Consumer<ServerBuilder<?>> configure) throws IOException {
    return startServer(0, service, configure);
  }

  /** Starts a server on {@code port} ({@code 0}: a free one); it becomes {@link #server}. */
  protected final Server startServer(
      int port, ServerServiceDefinition service, Consumer<ServerBuilder<?>> configure)
      throws IOException {
    ServerBuilder<?> builder = newServerBuilder(port);
    builder.addService(service).addTransportFilter(serverTransports);
    configure.accept(builder);
    Server started = builder.build();
    servers.add(started);
    started.start();
    this.server = started;
    this.port = started.getPort();
    return started;
  }

  /**
   * Creates a channel to {@link #port}, configured by {@code configure}; it becomes {@link
   * #channel}.
   */
  protected final ManagedChannel newChannel(Consumer<ManagedChannelBuilder<?>> configure) {
    return newChannel(port, configure);
  }

  /** Creates a channel to {@code port}; it becomes {@link #channel}. */
  protected final ManagedChannel newChannel(
      int port, Consumer<ManagedChannelBuilder<?>> configure) {
    ManagedChannelBuilder<?> builder = newChannelBuilder(port);
    configure.accept(builder);
    ManagedChannel created = builder.build();
    channels.add(created);
    this.channel = created;
    return created;
  }

  /** Starts a server with {@link EchoService} and a channel to it, both with default options. */
  protected final void startEchoServerAndChannel() throws IOException {
    startServer(EchoService.definition(), builder -> {});
    newChannel(builder -> {});
  }

  /** Closes {@code closeable} at teardown, after channels and servers. */
  protected final <T extends Closeable> T closeAtEnd(T closeable) {
    closeables.add(closeable);
    return closeable;
  }

  protected static CallOptions callOptions() {
    return CallOptions.DEFAULT.withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  /** Makes a unary call of {@link ContractMethods#UNARY}. */
  protected static byte[] unary(ManagedChannel channel, byte[] request) {
    return ClientCalls.blockingUnaryCall(channel, ContractMethods.UNARY, callOptions(), request);
  }

  /** Asserts {@code call} fails with {@code code}; returns the status. */
  protected static Status assertFailsWith(Status.Code code, ThrowingRunnable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
    assertEquals(e.getStatus().toString(), code, e.getStatus().getCode());
    return e.getStatus();
  }

  protected static long seconds(Duration duration) {
    return duration.getSeconds();
  }

  /** Waits a bounded time for {@code future}. */
  protected static <T> T get(Future<T> future) throws Exception {
    return future.get(seconds(WAIT), TimeUnit.SECONDS);
  }

  protected static void assertCompleted(StreamRecorder<?> recorder) throws Exception {
    assertTrue("call completes", recorder.awaitCompletion((int) seconds(WAIT), TimeUnit.SECONDS));
    if (recorder.getError() != null) {
      throw new AssertionError("call failed", recorder.getError());
    }
  }

  protected static void awaitLatch(CountDownLatch latch) {
    try {
      if (!latch.await(seconds(WAIT), TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  protected static <T> List<T> list(Iterable<T> values) {
    List<T> list = new ArrayList<>();
    if (values != null) {
      values.forEach(list::add);
    }
    return list;
  }

  /** A service of {@link ContractMethods#SERVICE} with {@code method} and the echoing PING. */
  protected static ServerServiceDefinition service(
      MethodDescriptor<byte[], byte[]> method, ServerCallHandler<byte[], byte[]> handler) {
    return ServerServiceDefinition.builder(ContractMethods.SERVICE)
        .addMethod(method, handler)
        .addMethod(ContractMethods.PING, EchoService.echo())
        .build();
  }

  protected static StreamObserver<byte[]> echoingObserver(StreamObserver<byte[]> responses) {
    return Observers.echoingTo(responses);
  }

  /** Asserts the channel's one connection still serves calls. */
  protected final void assertConnectionStillServes() {
    assertArrayEquals(
        new byte[] {7},
        ClientCalls.blockingUnaryCall(
            channel, ContractMethods.PING, callOptions(), new byte[] {7}));
    assertEquals("connections", 1, serverTransports.ready());
  }
}
