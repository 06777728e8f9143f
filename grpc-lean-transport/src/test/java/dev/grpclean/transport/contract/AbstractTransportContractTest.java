package dev.grpclean.transport.contract;

import static java.nio.charset.StandardCharsets.UTF_8;
import static dev.grpclean.transport.contract.MetadataEchoInterceptor.ASCII_KEY;
import static dev.grpclean.transport.contract.MetadataEchoInterceptor.BINARY_KEY;
import static dev.grpclean.transport.contract.MetadataEchoInterceptor.TRAILER_ASCII_KEY;
import static dev.grpclean.transport.contract.MetadataEchoInterceptor.TRAILER_BINARY_KEY;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ConnectivityState;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
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
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.StreamRecorder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Test;

/**
 * The transport contract: what any client/server transport pairing must do, over real sockets
 * and through grpc-core's public API. Each pairing is a thin subclass that supplies the builders
 * (see {@link ContractTestBase}).
 *
 * <p>Thread-compatible (JUnit runs each test on one thread).
 */
public abstract class AbstractTransportContractTest extends ContractTestBase {
  /** Above gRPC's 4 MiB default, so the 10 MiB message needs it on both sides. */
  private static final int LARGE_MESSAGE_LIMIT = 16 * 1024 * 1024;
  private static final int MIB = 1024 * 1024;
  /** RFC 9113 §4.2: SETTINGS_MAX_FRAME_SIZE starts at 16 KiB; one more byte needs two frames. */
  private static final int FRAME_SIZE_PLUS_ONE = 16 * 1024 + 1;
  private static final int MANY_MESSAGES = 1000;

  private static final Metadata.Key<String> ENCODING_KEY =
      Metadata.Key.of("grpc-encoding", Metadata.ASCII_STRING_MARSHALLER);

  // ---------------------------------------------------------------- the four call shapes

  @Test
  public void unaryCallEchoesRequest() throws Exception {
    startEchoServerAndChannel();
    byte[] request = Payloads.random(100, 1);
    assertArrayEquals(request, unary(channel, request));
  }

  @Test
  public void serverStreamingDeliversManyMessagesInOrder() throws Exception {
    startEchoServerAndChannel();
    Iterator<byte[]> responses =
        ClientCalls.blockingServerStreamingCall(
            channel,
            ContractMethods.SERVER_STREAMING,
            callOptions(),
            Payloads.streamRequest(MANY_MESSAGES, 1024));
    int received = 0;
    while (responses.hasNext()) {
      assertEquals(received++, Payloads.sequenceOf(responses.next()));
    }
    assertEquals(MANY_MESSAGES, received);
  }

  @Test
  public void clientStreamingDeliversManyMessagesInOrder() throws Exception {
    startEchoServerAndChannel();
    StreamRecorder<byte[]> summary = StreamRecorder.create();
    StreamObserver<byte[]> requests =
        ClientCalls.asyncClientStreamingCall(
            channel.newCall(ContractMethods.CLIENT_STREAMING, callOptions()), summary);
    long bytes = 0;
    for (int i = 0; i < MANY_MESSAGES; i++) {
      byte[] message = Payloads.numbered(i, variedSize(i));
      bytes += message.length;
      requests.onNext(message);
    }
    requests.onCompleted();

    assertCompleted(summary);
    assertEquals(MANY_MESSAGES, Payloads.summaryMessages(summary.firstValue().get()));
    assertEquals(bytes, Payloads.summaryBytes(summary.firstValue().get()));
  }

  @Test
  public void bidiStreamingEchoesManyMessagesInOrder() throws Exception {
    startEchoServerAndChannel();
    StreamRecorder<byte[]> echoes = StreamRecorder.create();
    StreamObserver<byte[]> requests =
        ClientCalls.asyncBidiStreamingCall(
            channel.newCall(ContractMethods.BIDI_STREAMING, callOptions()), echoes);
    for (int i = 0; i < MANY_MESSAGES; i++) {
      requests.onNext(Payloads.numbered(i, variedSize(i)));
    }
    requests.onCompleted();

    assertCompleted(echoes);
    List<byte[]> values = echoes.getValues();
    assertEquals(MANY_MESSAGES, values.size());
    for (int i = 0; i < MANY_MESSAGES; i++) {
      assertEquals(i, Payloads.sequenceOf(values.get(i)));
      assertEquals(variedSize(i), values.get(i).length);
    }
  }

  @Test
  public void hundredConcurrentCallsShareOneConnection() throws Exception {
    int calls = 100;
    // Answers nothing until all calls are open at once on the server.
    List<byte[]> requests = new ArrayList<>();
    List<StreamObserver<byte[]>> waiting = new ArrayList<>();
    startServer(
        service(
            ContractMethods.UNARY,
            ServerCalls.asyncUnaryCall(
                (request, responses) -> {
                  List<byte[]> toAnswer = null;
                  List<StreamObserver<byte[]>> toRelease = null;
                  synchronized (waiting) {
                    requests.add(request);
                    waiting.add(responses);
                    if (waiting.size() == calls) {
                      toAnswer = new ArrayList<>(requests);
                      toRelease = new ArrayList<>(waiting);
                    }
                  }
                  if (toRelease != null) {
                    for (int i = 0; i < calls; i++) {
                      toRelease.get(i).onNext(toAnswer.get(i));
                      toRelease.get(i).onCompleted();
                    }
                  }
                })),
        builder -> {});
    newChannel(builder -> {});

    List<Future<byte[]>> responses = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      responses.add(
          ClientCalls.futureUnaryCall(
              channel.newCall(ContractMethods.UNARY, callOptions()), Payloads.random(i, i)));
    }
    for (int i = 0; i < calls; i++) {
      assertArrayEquals(Payloads.random(i, i), get(responses.get(i)));
    }
    assertEquals("connections", 1, serverTransports.ready());
  }

  // ---------------------------------------------------------------- message sizes

  @Test
  public void emptyMessageRoundTrips() throws Exception {
    assertLargeEchoRoundTrips(0);
  }

  @Test
  public void oneByteMessageRoundTrips() throws Exception {
    assertLargeEchoRoundTrips(1);
  }

  @Test
  public void messageOneByteOverDefaultFrameSizeRoundTrips() throws Exception {
    assertLargeEchoRoundTrips(FRAME_SIZE_PLUS_ONE);
  }

  @Test
  public void oneMebibyteMessageRoundTrips() throws Exception {
    assertLargeEchoRoundTrips(MIB);
  }

  @Test
  public void tenMebibyteMessageRoundTrips() throws Exception {
    assertLargeEchoRoundTrips(10 * MIB);
  }

  @Test
  public void requestOverServerLimitFailsResourceExhausted() throws Exception {
    startServer(EchoService.definition(), builder -> builder.maxInboundMessageSize(MIB));
    newChannel(builder -> {});

    assertFailsWith(Status.Code.RESOURCE_EXHAUSTED, () -> unary(channel, new byte[MIB + 1]));
    assertConnectionStillServes();
  }

  @Test
  public void responseOverClientLimitFailsResourceExhausted() throws Exception {
    startServer(EchoService.definition(), builder -> {});
    newChannel(builder -> builder.maxInboundMessageSize(MIB));

    assertFailsWith(Status.Code.RESOURCE_EXHAUSTED, () -> unary(channel, new byte[MIB + 1]));
    assertConnectionStillServes();
  }

  // ---------------------------------------------------------------- metadata and status

  @Test
  public void customMetadataRoundTripsInHeadersAndTrailers() throws Exception {
    startServer(
        EchoService.definition(), builder -> builder.intercept(new MetadataEchoInterceptor()));
    newChannel(builder -> {});
    byte[] everyByte = new byte[256];
    for (int i = 0; i < everyByte.length; i++) {
      everyByte[i] = (byte) i;
    }
    byte[] largeBinary = Payloads.random(2048, 7);
    String ascii = "contract value ~!@#$%^&*()_+`-={}|[]\\:\";'<>?,./ 0123456789";
    Metadata sent = new Metadata();
    sent.put(ASCII_KEY, ascii);
    sent.put(ASCII_KEY, "second value");
    sent.put(BINARY_KEY, everyByte);
    sent.put(BINARY_KEY, largeBinary);
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    Channel intercepted =
        ClientInterceptors.intercept(
            channel,
            MetadataUtils.newAttachHeadersInterceptor(sent),
            MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));

    byte[] request = Payloads.random(10, 3);
    assertArrayEquals(
        request,
        ClientCalls.blockingUnaryCall(intercepted, ContractMethods.UNARY, callOptions(), request));

    assertEquals(List.of(ascii, "second value"), list(headers.get().getAll(ASCII_KEY)));
    List<byte[]> binaryHeaders = list(headers.get().getAll(BINARY_KEY));
    assertEquals(2, binaryHeaders.size());
    assertArrayEquals(everyByte, binaryHeaders.get(0));
    assertArrayEquals(largeBinary, binaryHeaders.get(1));
    assertEquals(List.of(ascii, "second value"), list(trailers.get().getAll(TRAILER_ASCII_KEY)));
    List<byte[]> binaryTrailers = list(trailers.get().getAll(TRAILER_BINARY_KEY));
    assertEquals(2, binaryTrailers.size());
    assertArrayEquals(everyByte, binaryTrailers.get(0));
    assertArrayEquals(largeBinary, binaryTrailers.get(1));
  }

  @Test
  public void statusCodeAndUnicodeMessageRoundTrip() throws Exception {
    String description = "Ünïcödé ✓ — 中文 🚀 100% done\tand a second line:\nend";
    startServer(
        service(
            ContractMethods.SERVER_STREAMING,
            ServerCalls.asyncServerStreamingCall(
                (request, responses) -> {
                  // A message first, so the status travels in real trailers, after headers.
                  responses.onNext(request);
                  responses.onError(
                      Status.INVALID_ARGUMENT.withDescription(description).asRuntimeException());
                })),
        builder -> {});
    newChannel(builder -> {});

    Iterator<byte[]> responses =
        ClientCalls.blockingServerStreamingCall(
            channel, ContractMethods.SERVER_STREAMING, callOptions(), new byte[] {42});
    assertArrayEquals(new byte[] {42}, responses.next());
    Status status = assertFailsWith(Status.Code.INVALID_ARGUMENT, responses::hasNext);
    assertEquals(description, status.getDescription());
  }

  @Test
  public void trailersOnlyErrorResponse() throws Exception {
    Metadata errorTrailers = new Metadata();
    errorTrailers.put(TRAILER_ASCII_KEY, "why");
    errorTrailers.put(TRAILER_BINARY_KEY, new byte[] {0, -1, 2});
    startServer(
        service(
            ContractMethods.UNARY,
            ServerCalls.asyncUnaryCall(
                (request, responses) ->
                    responses.onError(
                        Status.NOT_FOUND
                            .withDescription("no such thing")
                            .asRuntimeException(errorTrailers)))),
        builder -> {});
    newChannel(builder -> {});

    CompletableFuture<Metadata> headers = new CompletableFuture<>();
    CompletableFuture<Status> closed = new CompletableFuture<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    ClientCall<byte[], byte[]> call = channel.newCall(ContractMethods.UNARY, callOptions());
    call.start(
        new ClientCall.Listener<byte[]>() {
          @Override
          public void onHeaders(Metadata received) {
            headers.complete(received);
          }

          @Override
          public void onClose(Status status, Metadata received) {
            trailers.set(received);
            closed.complete(status);
          }
        },
        new Metadata());
    call.request(1);
    call.sendMessage(new byte[] {1});
    call.halfClose();

    Status status = get(closed);
    assertEquals(Status.Code.NOT_FOUND, status.getCode());
    assertEquals("no such thing", status.getDescription());
    assertFalse("a trailers-only response has no separate headers", headers.isDone());
    assertEquals("why", trailers.get().get(TRAILER_ASCII_KEY));
    assertArrayEquals(new byte[] {0, -1, 2}, trailers.get().get(TRAILER_BINARY_KEY));
  }

  @Test
  public void unimplementedMethodFailsUnimplemented() throws Exception {
    startEchoServerAndChannel();
    assertFailsWith(
        Status.Code.UNIMPLEMENTED,
        () ->
            ClientCalls.blockingUnaryCall(
                channel, ContractMethods.MISSING_METHOD, callOptions(), new byte[1]));
    assertFailsWith(
        Status.Code.UNIMPLEMENTED,
        () ->
            ClientCalls.blockingUnaryCall(
                channel, ContractMethods.MISSING_SERVICE, callOptions(), new byte[1]));
    assertConnectionStillServes();
  }

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
                  Context.current().addListener(c -> contextCancelled.complete(null), Runnable::run);
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
    assertNotEquals("failed by the shutdown, not the deadline",
        Status.Code.DEADLINE_EXCEEDED, status.getCode());
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

    assertEquals(
        Status.Code.UNAVAILABLE, Status.fromThrowable(get(inFlight.error())).getCode());
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
            builder
                .permitKeepAliveTime(1, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true));
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

  // ---------------------------------------------------------------- attributes and interceptors

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
    assertEquals("one connection, seen from both ends", serverRemote.getPort(), clientLocal.getPort());
    assertEquals(SecurityLevel.NONE, clientAttributes.get(GrpcAttributes.ATTR_SECURITY_LEVEL));
  }

  @Test
  public void interceptorsRunOnBothSides() throws Exception {
    Metadata.Key<String> fromClient =
        Metadata.Key.of("x-client-interceptor", Metadata.ASCII_STRING_MARSHALLER);
    Metadata.Key<String> fromServer =
        Metadata.Key.of("x-server-interceptor", Metadata.ASCII_STRING_MARSHALLER);
    Context.Key<String> contextKey = Context.key("client-said");
    startServer(
        service(
            ContractMethods.UNARY,
            ServerCalls.asyncUnaryCall(
                (request, responses) -> {
                  responses.onNext(contextKey.get().getBytes(UTF_8));
                  responses.onCompleted();
                })),
        builder ->
            builder.intercept(
                new ServerInterceptor() {
                  @Override
                  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
                      ServerCall<ReqT, RespT> call,
                      Metadata headers,
                      ServerCallHandler<ReqT, RespT> next) {
                    Context context = Context.current().withValue(contextKey, headers.get(fromClient));
                    ServerCall<ReqT, RespT> tagging =
                        new SimpleForwardingServerCall<ReqT, RespT>(call) {
                          @Override
                          public void sendHeaders(Metadata responseHeaders) {
                            responseHeaders.put(fromServer, "server was here");
                            super.sendHeaders(responseHeaders);
                          }
                        };
                    return Contexts.interceptCall(context, tagging, headers, next);
                  }
                }));
    newChannel(builder -> {});
    Metadata attached = new Metadata();
    attached.put(fromClient, "client was here");
    AtomicReference<Metadata> headers = new AtomicReference<>();
    Channel intercepted =
        ClientInterceptors.intercept(
            channel,
            MetadataUtils.newAttachHeadersInterceptor(attached),
            MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()));

    byte[] response =
        ClientCalls.blockingUnaryCall(intercepted, ContractMethods.UNARY, callOptions(), new byte[0]);

    assertEquals("client was here", new String(response, UTF_8));
    assertEquals("server was here", headers.get().get(fromServer));
  }

  // ---------------------------------------------------------------- helpers

  private void assertLargeEchoRoundTrips(int size) throws Exception {
    startServer(
        EchoService.definition(), builder -> builder.maxInboundMessageSize(LARGE_MESSAGE_LIMIT));
    newChannel(builder -> builder.maxInboundMessageSize(LARGE_MESSAGE_LIMIT));
    byte[] request = Payloads.random(size, size);
    assertArrayEquals(request, unary(channel, request));
    // And again on the same connection, as a stream of two.
    StreamRecorder<byte[]> echoes = StreamRecorder.create();
    StreamObserver<byte[]> requests =
        ClientCalls.asyncBidiStreamingCall(
            channel.newCall(ContractMethods.BIDI_STREAMING, callOptions()), echoes);
    requests.onNext(request);
    requests.onNext(request);
    requests.onCompleted();
    assertCompleted(echoes);
    assertEquals(2, echoes.getValues().size());
    assertArrayEquals(request, echoes.getValues().get(0));
    assertArrayEquals(request, echoes.getValues().get(1));
  }

  private void assertConnectionStillServes() {
    assertArrayEquals(
        new byte[] {7},
        ClientCalls.blockingUnaryCall(channel, ContractMethods.PING, callOptions(), new byte[] {7}));
    assertEquals("connections", 1, serverTransports.ready());
  }

  /** Sizes from 4 bytes to a little over one 16 KiB frame, varied so frames split messages. */
  private static int variedSize(int i) {
    return Payloads.MIN_NUMBERED_BYTES + (i * 7919) % (FRAME_SIZE_PLUS_ONE + 100);
  }

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
