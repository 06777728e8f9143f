package dev.grpclean.alts;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.LeanTransportStats;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.internal.GrpcAttributes;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** The lean transport end to end behind the ALTS-like handshake and record layer. */
public class AltsLikeTransportTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final MethodDescriptor.Marshaller<byte[]> BYTES =
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
  private static final MethodDescriptor<byte[], byte[]> ECHO =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("test.Echo/Unary")
          .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();

  private final AltsLikeIdentity serverId = generate();
  private final AltsLikeIdentity clientId = generate();
  private final AtomicReference<Attributes> serverCallAttrs = new AtomicReference<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private Server server;

  @Before
  public void startServer() throws IOException {
    ServerServiceDefinition echo = ServerServiceDefinition.builder("test.Echo")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((req, obs) -> {
          obs.onNext(req);
          obs.onCompleted();
        }))
        .build();
    ServerInterceptor capture = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
          Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        serverCallAttrs.set(call.getAttributes());
        return next.startCall(call, headers);
      }
    };
    AltsLikeServerCredentials creds = AltsLikeServerCredentials.newBuilder()
        .identity(serverId).acceptPeers(clientId.publicKey()).build();
    server = LeanServerBuilder.forPort(0, creds)
        .maxInboundMessageSize(16 << 20)
        .addService(ServerInterceptors.intercept(echo, capture))
        .build().start();
  }

  @After
  public void tearDown() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    assertEquals(LeanTransportStats.describe(), 0, awaitLeasedBytesZero());
  }

  private ManagedChannel channel(AltsLikeIdentity identity, java.security.PublicKey accept) {
    ManagedChannel c = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(),
            AltsLikeChannelCredentials.newBuilder().identity(identity).acceptPeers(accept)
                .build())
        .maxInboundMessageSize(16 << 20)
        .build();
    channels.add(c);
    return c;
  }

  private static byte[] call(ManagedChannel c, byte[] req) {
    return ClientCalls.blockingUnaryCall(c, ECHO,
        CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), req);
  }

  @Test
  public void echoesSmallAndLargeMessagesAndReportsThePeer() {
    ManagedChannel c = channel(clientId, serverId.publicKey());
    Random random = new Random(1);
    for (int size : new int[] {0, 1, 4072, 4073, 100_000, 10 << 20}) {
      byte[] req = new byte[size];
      random.nextBytes(req);
      assertArrayEquals("size " + size, req, call(c, req));
    }
    Attributes attrs = serverCallAttrs.get();
    assertEquals(SecurityLevel.PRIVACY_AND_INTEGRITY,
        attrs.get(GrpcAttributes.ATTR_SECURITY_LEVEL));
    AltsLikePeer peer = attrs.get(AltsLikePeer.PEER_IDENTITY_KEY);
    assertNotNull("peer identity attribute", peer);
    assertEquals(clientId.id(), peer.id());
  }

  @Test
  public void idleEncryptedConnectionHoldsNoLeasedBytes() {
    ManagedChannel c = channel(clientId, serverId.publicKey());
    call(c, new byte[1000]);
    // The channel and the connection stay open: only keys and counters remain.
    assertEquals(LeanTransportStats.describe(), 0, awaitLeasedBytesZero());
  }

  @Test
  public void clientRejectsAnUnexpectedServerIdentity() {
    ManagedChannel c = channel(clientId, generate().publicKey());
    try {
      call(c, new byte[10]);
      fail("expected UNAVAILABLE");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
      assertTrue(e.getStatus().toString(),
          String.valueOf(e.getStatus().getDescription()).contains("handshake"));
    }
  }

  @Test
  public void serverRejectsAnUnacceptedClientAndKeepsServing() {
    ManagedChannel stranger = channel(generate(), serverId.publicKey());
    try {
      call(stranger, new byte[10]);
      fail("expected UNAVAILABLE");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    }
    assertEquals(3, call(channel(clientId, serverId.publicKey()), new byte[3]).length);
  }

  @Test
  public void garbageInsteadOfAHandshakeClosesOnlyThatConnection() throws Exception {
    try (Socket s = new Socket("127.0.0.1", server.getPort())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      // The server answers nothing meaningful and closes: read until EOF (or a reset).
      try {
        while (in.read(buf) >= 0) {
          // drain
        }
      } catch (java.net.SocketException reset) {
        // a reset is a close too
      }
    }
    assertEquals(5, call(channel(clientId, serverId.publicKey()), new byte[5]).length);
  }

  private static AltsLikeIdentity generate() {
    try {
      return AltsLikeIdentity.generate();
    } catch (java.security.GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  private static long awaitLeasedBytesZero() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (LeanTransportStats.leasedBytes() != 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    return LeanTransportStats.leasedBytes();
  }
}
