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

/** The lean transport end to end with X.509 certificate identities. */
public class X509TransportTest {
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

  private final AltsLikeIdentity serverId = fixture("server");
  private final AltsLikeIdentity clientId = fixture("client");
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
    AltsLikeServerCredentials creds;
    try {
      creds = AltsLikeServerCredentials.newBuilder()
          .certificateIdentityFromPemFiles(X509Fixtures.path("server.pem"),
              X509Fixtures.path("server.key"))
          .trustCertificates(X509Fixtures.ca())
          .build();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
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

  private ManagedChannel channel(AltsLikeIdentity identity) throws Exception {
    ManagedChannel c = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(),
            AltsLikeChannelCredentials.newBuilder()
                .certificateIdentity(identity.certificateChain(), identity.privateKey())
                .trustCertificates(X509Fixtures.ca())
                .peerVerifier(p -> p.id().startsWith("x509:CN=server,"))
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
  public void echoesAndTheServerCallSeesTheClientCertificate() throws Exception {
    ManagedChannel c = channel(clientId);
    Random random = new Random(1);
    for (int size : new int[] {0, 1, 4073, 100_000, 1 << 20}) {
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
    assertEquals(clientId.certificateChain(), peer.certificateChain());
    assertEquals("CN=client,O=grpc-lean test",
        peer.certificateChain().get(0).getSubjectX500Principal().getName());
  }

  @Test
  public void untrustedClientCertificateIsRejectedAndTheServerKeepsServing() throws Exception {
    ManagedChannel stranger = channel(fixture("stranger"));
    try {
      call(stranger, new byte[10]);
      fail("expected UNAVAILABLE");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    }
    assertEquals(3, call(channel(clientId), new byte[3]).length);
  }

  @Test
  public void clientRejectsAServerFromAnotherCa() throws Exception {
    ManagedChannel c = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(),
            AltsLikeChannelCredentials.newBuilder()
                .certificateIdentity(clientId.certificateChain(), clientId.privateKey())
                .trustCertificates(List.of(X509Fixtures.certificate("other-ca")))
                .build())
        .build();
    channels.add(c);
    try {
      call(c, new byte[10]);
      fail("expected UNAVAILABLE");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
      assertTrue(e.getStatus().toString(),
          String.valueOf(e.getStatus().getDescription()).contains("not trusted"));
    }
  }

  private static AltsLikeIdentity fixture(String name) {
    try {
      return X509Fixtures.identity(name);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
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
