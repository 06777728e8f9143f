package dev.grpclean.transport.contract;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.testing.Conditions;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ConnectivityState;
import io.grpc.Context;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.internal.GrpcAttributes;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Test;

/**
 * The transport contract: what any client/server transport pairing must do, over real sockets and
 * through grpc-core's public API. This half covers deadlines, cancellation, flow control, limits,
 * compression, lifecycle, keepalive and transport attributes; {@link AbstractCallContractTest} the
 * calls themselves. Each pairing is a thin subclass that supplies the builders (see {@link
 * ContractTestBase}).
 *
 * <p>Thread-compatible (JUnit runs each test on one thread).
 */
public abstract class AbstractTransportContractTest extends AbstractCallContractTest {
  private static final Metadata.Key<String> ENCODING_KEY =
      Metadata.Key.of("grpc-encoding", Metadata.ASCII_STRING_MARSHALLER);

  // ---------------------------------------------------------------- deadlines and cancellation

  @Test
  public void deadlineExceededCancelsServerContext() throws Exception {
    CompletableFuture<Boolean> serverHadDeadline = new CompletableFuture<>();
    CompletableFuture<Throwable> serverCancelled = new CompletableFuture<>();
    startServer(
        service(
            ContractMethods.UNARY,
            ServerCalls.asyncUnaryCall(
                (request, responses) -> {
                  // Never answers.
                  serverHadDeadline.complete(Context.current().getDeadline() != null);
                  Context.current()
                      .addListener(
                          context -> serverCancelled.complete(context.cancellationCause()),
                          Runnable::run);
                })),
        builder -> {});
    newChannel(builder -> {});

    assertFailsWith(
        Status.Code.DEADLINE_EXCEEDED,
        () ->
            ClientCalls.blockingUnaryCall(
                channel,
                ContractMethods.UNARY,
                CallOptions.DEFAULT.withDeadlineAfter(2, TimeUnit.SECONDS),
                new byte[1]));
    assertTrue("grpc-timeout reached the server", get(serverHadDeadline));
    get(serverCancelled);
    assertConnectionStillServes();
  }

  @Test
  public void clientCancelMidStreamCancelsServer() throws Exception {
    CompletableFuture<Void> onCancel = new CompletableFuture<>();
    CompletableFuture<Void> contextCancelled = new CompletableFuture<>();
    startServer(
        service(
            ContractMethods.BIDI_STREAMING,
            ServerCalls.asyncBidiStreamingCall(
                responses -> {
                  ((ServerCallStreamObserver<byte[]>) responses)
                      .setOnCancelHandler(() -> onCancel.complete(null));
                  Context.current()
                      .addListener(c -> contextCancelled.complete(null), Runnable::run);
                  return echoingObserver(responses);
                })),
        builder -> {});
    newChannel(builder -> {});

    // No deadline: only the client's cancellation can end this call.
    BidiProbe probe = BidiProbe.start(channel, CallOptions.DEFAULT);
    probe.requests().onNext(new byte[] {1});
    assertArrayEquals(new byte[] {1}, get(probe.firstResponse()));
    probe.requests().cancel("client gave up", null);

    get(onCancel);
    get(contextCancelled);
    assertEquals(Status.Code.CANCELLED, Status.fromThrowable(get(probe.error())).getCode());
    assertConnectionStillServes();
  }

  // ---------------------------------------------------------------- flow control and limits

  @Test
  public void serverStreamingHonoursSlowClientsFlowControl() throws Exception {
    FlowControlProbe probe = new FlowControlProbe();
    startServer(service(ContractMethods.SERVER_STREAMING, probe.serverHandler()), builder -> {});
    newChannel(builder -> {});

    probe.startCall(channel);
    probe.awaitClientPaused(WAIT);
    // The client asks for nothing more, so the server must run out of window and stop.
    Conditions.await(
        probe::serverBlocked, WAIT, () -> "server still ready while the client reads nothing");
    probe.resumeClient();

    probe.awaitAllReceivedInOrder(WAIT);
    assertTrue(
        "server ran " + probe.maxAheadBytes() + " bytes ahead of the client",
        probe.maxAheadBytes() <= FlowControlProbe.MAX_AHEAD_BYTES);
  }

  @Test
  public void maxConcurrentCallsPerConnectionQueuesExtraCalls() throws Exception {
    int limit = 2;
    int calls = 10;
    AtomicInteger active = new AtomicInteger();
    AtomicInteger maxActive = new AtomicInteger();
    CountDownLatch limitReached = new CountDownLatch(limit);
    CountDownLatch release = new CountDownLatch(1);
    startServer(
        service(
            ContractMethods.UNARY,
            ServerCalls.asyncUnaryCall(
                (request, responses) -> {
                  int now = active.incrementAndGet();
                  maxActive.accumulateAndGet(now, Math::max);
                  limitReached.countDown();
                  testExecutor.execute(
                      () -> {
                        awaitLatch(release);
                        // Before answering: the next stream may open as soon as this one ends.
                        active.decrementAndGet();
                        responses.onNext(request);
                        responses.onCompleted();
                      });
                })),
        builder -> setMaxConcurrentCallsPerConnection(builder, limit));
    newChannel(builder -> {});

    List<Future<byte[]>> responses = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      responses.add(
          ClientCalls.futureUnaryCall(
              channel.newCall(ContractMethods.UNARY, callOptions()), new byte[] {(byte) i}));
    }
    assertTrue(limitReached.await(seconds(WAIT), TimeUnit.SECONDS));
    release.countDown();
    for (int i = 0; i < calls; i++) {
      assertArrayEquals(new byte[] {(byte) i}, get(responses.get(i)));
    }
    assertEquals("most calls open at once", limit, maxActive.get());
    assertEquals("connections", 1, serverTransports.ready());
  }

  @Test
  public void gzipCompressesBothWays() throws Exception {
    AtomicReference<String> requestEncoding = new AtomicReference<>();
    startServer(
        service(
            ContractMethods.UNARY,
            ServerCalls.asyncUnaryCall(
                (request, responses) -> {
                  ((ServerCallStreamObserver<byte[]>) responses).setCompression("gzip");
                  responses.onNext(request);
                  responses.onCompleted();
                })),
        builder -> builder.intercept(captureHeader(ENCODING_KEY, requestEncoding)));
    newChannel(builder -> {});
    SizeRecordingTracer tracer = new SizeRecordingTracer();
    AtomicReference<Metadata> responseHeaders = new AtomicReference<>();
    Channel intercepted =
        ClientInterceptors.intercept(
            channel,
            MetadataUtils.newCaptureMetadataInterceptor(responseHeaders, new AtomicReference<>()));
    byte[] request = "compress me please; ".repeat(10_000).getBytes(UTF_8);

    byte[] response =
        ClientCalls.blockingUnaryCall(
            intercepted,
            ContractMethods.UNARY,
            callOptions().withCompression("gzip").withStreamTracerFactory(tracer.factory()),
            request);

    assertArrayEquals(request, response);
    assertEquals("gzip", requestEncoding.get());
    assertEquals("gzip", responseHeaders.get().get(ENCODING_KEY));
    tracer.assertCompressed();
  }

  // ---------------------------------------------------------------- lifecycle

  @Test
  public void gracefulServerShutdownLetsInFlightCallFinish() throws Exception {
    startEchoServerAndChannel();
    BidiProbe inFlight = BidiProbe.start(channel, callOptions());
    inFlight.requests().onNext(new byte[] {1});
    assertArrayEquals(new byte[] {1}, get(inFlight.firstResponse()));

    server.shutdown();
    // The client learns of the shutdown from GOAWAY; only then is a new call sure to be refused.
    Conditions.awaitState(channel, state -> state != ConnectivityState.READY, WAIT);
    assertFailsWith(Status.Code.UNAVAILABLE, () -> unary(channel, new byte[1]));
    assertFalse("server waits for the in-flight call", server.isTerminated());

    inFlight.requests().onNext(new byte[] {2});
    inFlight.requests().onCompleted();
    inFlight.assertCompletedWith(WAIT, new byte[] {1}, new byte[] {2});
    assertTrue(server.awaitTermination(seconds(WAIT), TimeUnit.SECONDS));
  }

  @Test
  public void serverShutdownNowFailsInFlightCalls() throws Exception {
    CompletableFuture<Void> serverCancelled = new CompletableFuture<>();
    startServer(cancelRecordingBidiService(serverCancelled), builder -> {});
    newChannel(builder -> {});
    BidiProbe inFlight = BidiProbe.start(channel, callOptions());
    inFlight.requests().onNext(new byte[] {1});
    assertArrayEquals(new byte[] {1}, get(inFlight.firstResponse()));

    server.shutdownNow();

    Status status = Status.fromThrowable(get(inFlight.error()));
    assertNotEquals(Status.Code.OK, status.getCode());
    assertNotEquals(
        "failed by the shutdown, not the deadline",
        Status.Code.DEADLINE_EXCEEDED,
        status.getCode());
    get(serverCancelled);
    assertTrue(server.awaitTermination(seconds(WAIT), TimeUnit.SECONDS));
  }

  @Test
  public void channelShutdownLetsInFlightCallFinish() throws Exception {
    startEchoServerAndChannel();
    BidiProbe inFlight = BidiProbe.start(channel, callOptions());
    inFlight.requests().onNext(new byte[] {1});
    assertArrayEquals(new byte[] {1}, get(inFlight.firstResponse()));

    channel.shutdown();
    assertFailsWith(Status.Code.UNAVAILABLE, () -> unary(channel, new byte[1]));
    assertFalse("channel waits for the in-flight call", channel.isTerminated());

    inFlight.requests().onNext(new byte[] {2});
    inFlight.requests().onCompleted();
    inFlight.assertCompletedWith(WAIT, new byte[] {1}, new byte[] {2});
    assertTrue(channel.awaitTermination(seconds(WAIT), TimeUnit.SECONDS));
    // The client closed its connection once it had nothing left to do.
    serverTransports.awaitTerminated(1, WAIT);
  }

  @Test
  public void channelShutdownNowCancelsInFlightCalls() throws Exception {
    CompletableFuture<Void> serverCancelled = new CompletableFuture<>();
    startServer(cancelRecordingBidiService(serverCancelled), builder -> {});
    newChannel(builder -> {});
    BidiProbe inFlight = BidiProbe.start(channel, callOptions());
    inFlight.requests().onNext(new byte[] {1});
    assertArrayEquals(new byte[] {1}, get(inFlight.firstResponse()));

    channel.shutdownNow();

    assertEquals(Status.Code.UNAVAILABLE, Status.fromThrowable(get(inFlight.error())).getCode());
    get(serverCancelled);
    assertTrue(channel.awaitTermination(seconds(WAIT), TimeUnit.SECONDS));
    serverTransports.awaitTerminated(1, WAIT);
  }

  @Test
  public void channelReconnectsToServerRestartedOnSamePort() throws Exception {
    startEchoServerAndChannel();
    assertArrayEquals(new byte[] {1}, unary(channel, new byte[] {1}));
    int firstPort = port;

    server.shutdown();
    assertTrue(server.awaitTermination(seconds(WAIT), TimeUnit.SECONDS));
    startServer(firstPort, EchoService.definition(), builder -> {});
    assertEquals(firstPort, port);
    channel.resetConnectBackoff();

    assertArrayEquals(
        new byte[] {2},
        ClientCalls.blockingUnaryCall(
            channel, ContractMethods.UNARY, callOptions().withWaitForReady(), new byte[] {2}));
    assertEquals("connections, one per server", 2, serverTransports.ready());
  }

  @Test
  public void keepAlivePingsKeepIdleConnectionHealthy() throws Exception {
    int pings = 3;
    startServer(
        EchoService.definition(),
        builder ->
            builder.permitKeepAliveTime(1, TimeUnit.SECONDS).permitKeepAliveWithoutCalls(true));
    PingCountingProxy proxy = closeAtEnd(new PingCountingProxy(port));
    // 10 s is the shortest keepalive time gRPC channels accept.
    newChannel(
        proxy.port(),
        builder ->
            builder
                .keepAliveTime(10, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true));
    assertArrayEquals(new byte[] {1}, unary(channel, new byte[] {1}));
    int pingsBefore = proxy.clientPings();

    // Idle: only keepalive pings cross the connection now.
    proxy.awaitPingsAcked(pingsBefore + pings, Duration.ofSeconds(45));

    assertArrayEquals(new byte[] {2}, unary(channel, new byte[] {2}));
    assertEquals("connections", 1, proxy.connections());
    assertEquals("server transports", 1, serverTransports.ready());
    assertEquals("server transports closed", 0, serverTransports.terminated());
    assertEquals(ConnectivityState.READY, channel.getState(false));
  }

  // ---------------------------------------------------------------- attributes

  @Test
  public void callsSeeTransportAttributes() throws Exception {
    AtomicReference<ServerCall<?, ?>> serverCall = new AtomicReference<>();
    startServer(
        EchoService.definition(),
        builder ->
            builder.intercept(
                new ServerInterceptor() {
                  @Override
                  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
                      ServerCall<ReqT, RespT> call,
                      Metadata headers,
                      ServerCallHandler<ReqT, RespT> next) {
                    serverCall.set(call);
                    return next.startCall(call, headers);
                  }
                }));
    newChannel(builder -> {});
    AtomicReference<ClientCall<?, ?>> clientCall = new AtomicReference<>();
    Channel intercepted = ClientInterceptors.intercept(channel, captureClientCall(clientCall));

    ClientCalls.blockingUnaryCall(intercepted, ContractMethods.UNARY, callOptions(), new byte[1]);

    Attributes serverAttributes = serverCall.get().getAttributes();
    InetSocketAddress serverLocal =
        (InetSocketAddress) serverAttributes.get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR);
    InetSocketAddress serverRemote =
        (InetSocketAddress) serverAttributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    assertEquals(port, serverLocal.getPort());
    assertTrue(serverRemote.getAddress().isLoopbackAddress());
    assertNotEquals(port, serverRemote.getPort());
    assertEquals(SecurityLevel.NONE, serverAttributes.get(GrpcAttributes.ATTR_SECURITY_LEVEL));
    assertEquals(SecurityLevel.NONE, serverCall.get().getSecurityLevel());
    assertEquals(channel.authority(), serverCall.get().getAuthority());

    Attributes clientAttributes = clientCall.get().getAttributes();
    InetSocketAddress clientRemote =
        (InetSocketAddress) clientAttributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    InetSocketAddress clientLocal =
        (InetSocketAddress) clientAttributes.get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR);
    assertEquals(port, clientRemote.getPort());
    assertEquals(
        "one connection, seen from both ends", serverRemote.getPort(), clientLocal.getPort());
    assertEquals(SecurityLevel.NONE, clientAttributes.get(GrpcAttributes.ATTR_SECURITY_LEVEL));
  }

  // ---------------------------------------------------------------- helpers

  private static ServerServiceDefinition cancelRecordingBidiService(
      CompletableFuture<Void> cancelled) {
    return service(
        ContractMethods.BIDI_STREAMING,
        ServerCalls.asyncBidiStreamingCall(
            responses -> {
              ((ServerCallStreamObserver<byte[]>) responses)
                  .setOnCancelHandler(() -> cancelled.complete(null));
              return echoingObserver(responses);
            }));
  }

  private static ServerInterceptor captureHeader(
      Metadata.Key<String> key, AtomicReference<String> value) {
    return new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
          ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        value.set(headers.get(key));
        return next.startCall(call, headers);
      }
    };
  }

  private static ClientInterceptor captureClientCall(AtomicReference<ClientCall<?, ?>> captured) {
    return new ClientInterceptor() {
      @Override
      public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
          MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
        ClientCall<ReqT, RespT> call =
            new SimpleForwardingClientCall<ReqT, RespT>(next.newCall(method, callOptions)) {};
        captured.set(call);
        return call;
      }
    };
  }
}
