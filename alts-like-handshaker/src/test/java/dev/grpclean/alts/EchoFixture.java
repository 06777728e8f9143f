package dev.grpclean.alts;

import static org.junit.Assert.assertEquals;

import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.LeanTransportStats;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** The byte[] echo service, client call and lease check shared by the transport tests. */
final class EchoFixture {
  private EchoFixture() {}

  static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };
  static final MethodDescriptor<byte[], byte[]> ECHO =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("test.Echo/Unary")
          .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();

  /** A {@code test.Echo} service whose unary method returns the request unchanged. */
  static ServerServiceDefinition echoService() {
    return ServerServiceDefinition.builder("test.Echo")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((req, obs) -> {
          obs.onNext(req);
          obs.onCompleted();
        }))
        .build();
  }

  /**
   * Starts a lean server on an ephemeral port serving {@link #echoService()} with a 16 MiB inbound
   * limit; every call's attributes are stored in {@code serverCallAttrs}.
   */
  static Server startEchoServer(AltsLikeServerCredentials creds,
      AtomicReference<Attributes> serverCallAttrs) throws IOException {
    ServerInterceptor capture = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
          Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        serverCallAttrs.set(call.getAttributes());
        return next.startCall(call, headers);
      }
    };
    return LeanServerBuilder.forPort(0, creds)
        .maxInboundMessageSize(16 << 20)
        .addService(ServerInterceptors.intercept(echoService(), capture))
        .build().start();
  }

  /** Shuts down the channels, then the server, and asserts every leased byte came back. */
  static void shutDownAndAssertLeasesReturned(List<ManagedChannel> channels, Server server)
      throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    assertEquals(LeanTransportStats.describe(), 0, awaitLeasedBytesZero());
  }

  /** One blocking echo call with a 20 second deadline. */
  static byte[] call(ManagedChannel channel, byte[] req) {
    return ClientCalls.blockingUnaryCall(channel, ECHO,
        CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), req);
  }

  static AltsLikeIdentity generate() {
    try {
      return AltsLikeIdentity.generate();
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  /** Waits up to 5 seconds for every leased transport byte to return; gives what is left. */
  static long awaitLeasedBytesZero() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (LeanTransportStats.leasedBytes() != 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    return LeanTransportStats.leasedBytes();
  }
}
