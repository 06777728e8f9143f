package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;

import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Channel call credentials composed with {@code InsecureChannelCredentials} are applied, as
 * grpc-netty applies them: the application chose plaintext (a local sidecar, a test). Only
 * composites over a security handshake require {@code PRIVACY_AND_INTEGRITY}
 * ({@link PrivacyRequiredCallCredentials}; the unauthenticated case is tested in the ALTS-like
 * module).
 */
public class PlaintextCallCredentialsTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final ConcurrentLinkedQueue<String> tokensSeen = new ConcurrentLinkedQueue<>();
  private Server server;
  private ManagedChannel channel;

  @After
  public void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    LeanLeases.assertNoneLeased();
  }

  @Test
  public void plaintextCompositeSendsTheToken() throws Exception {
    ServerInterceptor capture = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
          Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        String token = headers.get(AUTHORIZATION);
        tokensSeen.add(token == null ? "(none)" : token);
        return next.startCall(call, headers);
      }
    };
    server = LeanServerBuilder.forPort(0, InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(Echo.service(), capture))
        .build().start();
    CallCredentials token = new CallCredentials() {
      @Override
      public void applyRequestMetadata(RequestInfo requestInfo, Executor appExecutor,
          MetadataApplier applier) {
        Metadata headers = new Metadata();
        headers.put(AUTHORIZATION, "Bearer local-token");
        applier.apply(headers);
      }
    };
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(),
        CompositeChannelCredentials.create(InsecureChannelCredentials.create(), token)).build();
    assertEquals(2, Echo.call(channel, new byte[] {1, 2}).length);
    assertEquals(List.of("Bearer local-token"), List.copyOf(tokensSeen));
  }
}
