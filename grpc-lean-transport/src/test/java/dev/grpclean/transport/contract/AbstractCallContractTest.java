package dev.grpclean.transport.contract;

import static dev.grpclean.transport.contract.MetadataEchoInterceptor.ASCII_KEY;
import static dev.grpclean.transport.contract.MetadataEchoInterceptor.BINARY_KEY;
import static dev.grpclean.transport.contract.MetadataEchoInterceptor.TRAILER_ASCII_KEY;
import static dev.grpclean.transport.contract.MetadataEchoInterceptor.TRAILER_BINARY_KEY;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.StreamRecorder;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Test;

/**
 * The first half of the transport contract: the four call shapes, message sizes, metadata, status
 * and interceptors. {@link AbstractTransportContractTest} adds the rest; pairings extend that.
 *
 * <p>Thread-compatible (JUnit runs each test on one thread).
 */
public abstract class AbstractCallContractTest extends ContractTestBase {
  /** Above gRPC's 4 MiB default, so the 10 MiB message needs it on both sides. */
  private static final int LARGE_MESSAGE_LIMIT = 16 * 1024 * 1024;

  private static final int MIB = 1024 * 1024;

  /** RFC 9113 §4.2: SETTINGS_MAX_FRAME_SIZE starts at 16 KiB; one more byte needs two frames. */
  private static final int FRAME_SIZE_PLUS_ONE = 16 * 1024 + 1;

  private static final int MANY_MESSAGES = 1000;

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
                    Context context =
                        Context.current().withValue(contextKey, headers.get(fromClient));
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
        ClientCalls.blockingUnaryCall(
            intercepted, ContractMethods.UNARY, callOptions(), new byte[0]);

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

  /** Sizes from 4 bytes to a little over one 16 KiB frame, varied so frames split messages. */
  private static int variedSize(int i) {
    return Payloads.MIN_NUMBERED_BYTES + (i * 7919) % (FRAME_SIZE_PLUS_ONE + 100);
  }
}
