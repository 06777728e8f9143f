package dev.grpclean.alts;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.testing.Echo;
import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.SecurityLevel;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.internal.GrpcAttributes;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Bearer tokens from channel call credentials reach only an authenticated server: a channel that
 * accepts any server (unauthenticated) reports security level NONE and sends none.
 */
public class AltsLikeCallCredentialsTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** Call credentials that attach a token whatever the connection (as a careless one would). */
  private static final CallCredentials NAIVE_TOKEN = new CallCredentials() {
    @Override
    public void applyRequestMetadata(RequestInfo requestInfo, Executor appExecutor,
        MetadataApplier applier) {
      Metadata headers = new Metadata();
      headers.put(AUTHORIZATION, "Bearer secret-token");
      applier.apply(headers);
    }
  };

  private final ConcurrentLinkedQueue<String> tokensSeen = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<SecurityLevel> levelsSeen = new ConcurrentLinkedQueue<>();
  private AltsLikeIdentity serverId;
  private Server server;
  private ManagedChannel channel;

  @Before
  public void startServer() throws Exception {
    serverId = AltsLikeIdentity.generate();
    ServerInterceptor capture = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
          Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        String token = headers.get(AUTHORIZATION);
        tokensSeen.add(token == null ? "(none)" : token);
        levelsSeen.add(call.getAttributes().get(GrpcAttributes.ATTR_SECURITY_LEVEL));
        return next.startCall(call, headers);
      }
    };
    server = LeanServerBuilder.forPort(0, AltsLikeServerCredentials.newBuilder()
            .identity(serverId).acceptAnyPeer().build())
        .addService(ServerInterceptors.intercept(Echo.service(), capture))
        .build().start();
  }

  @After
  public void stop() throws Exception {
    EchoFixture.shutDownAndAssertLeasesReturned(
        channel == null ? List.of() : List.of(channel), server);
  }

  @Test
  public void unauthenticatedServerGetsNoToken() {
    ChannelCredentials creds = CompositeChannelCredentials.create(
        AltsLikeChannelCredentials.newBuilder().identity(EchoFixture.generate())
            .acceptAnyServerUnauthenticated().build(), NAIVE_TOKEN);
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(), creds).build();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> Echo.call(channel, new byte[] {1}));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    assertTrue(e.getMessage(), e.getStatus().getDescription().contains("this one is NONE"));
    assertTrue("the server saw " + tokensSeen, tokensSeen.isEmpty());
  }

  @Test
  public void unauthenticatedServerStillServesCallsWithoutCallCredentials() {
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(),
        AltsLikeChannelCredentials.newBuilder().identity(EchoFixture.generate())
            .acceptAnyServerUnauthenticated().build()).build();
    assertEquals(1, Echo.call(channel, new byte[] {7}).length);
    assertEquals(List.of("(none)"), List.copyOf(tokensSeen));
    // The server authenticated itself; its side of the connection stays private.
    assertEquals(List.of(SecurityLevel.PRIVACY_AND_INTEGRITY), List.copyOf(levelsSeen));
  }

  @Test
  public void authenticatedServerGetsTheToken() {
    ChannelCredentials creds = CompositeChannelCredentials.create(
        AltsLikeChannelCredentials.newBuilder().identity(EchoFixture.generate())
            .acceptPeers(serverId.publicKey()).build(), NAIVE_TOKEN);
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(), creds).build();
    assertEquals(1, Echo.call(channel, new byte[] {1}).length);
    assertEquals(List.of("Bearer secret-token"), List.copyOf(tokensSeen));
  }

  @Test
  public void channelCredentialsRefuseAcceptAnyPeer() {
    @SuppressWarnings("deprecation")
    UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
        () -> AltsLikeChannelCredentials.newBuilder().acceptAnyPeer());
    assertTrue(e.getMessage(), e.getMessage().startsWith(
        "acceptAnyPeer() is not allowed on channel credentials: the server would be"
            + " unauthenticated while the connection claims privacy"));
    assertNull(channel);
  }
}
