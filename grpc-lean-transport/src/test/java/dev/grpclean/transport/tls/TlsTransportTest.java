package dev.grpclean.transport.tls;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ConnectivityState;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.SecurityLevel;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsServerCredentials.ClientAuth;
import io.grpc.internal.GrpcAttributes;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.SSLSession;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;

/**
 * TLS on the real transport, over loopback sockets, for each provider: lean to lean (with mutual
 * TLS), lean to grpc-netty-shaded, grpc-netty-shaded and grpc-okhttp to lean; failures reach the
 * client as UNAVAILABLE with the reason; no buffer stays leased, not even by an idle connection.
 */
@RunWith(Parameterized.class)
public class TlsTransportTest {
  private static final int LARGE_BYTES = 10 << 20;
  private static final int MAX_MESSAGE_BYTES = 16 << 20;

  @Rule public final Timeout timeout = Timeout.seconds(120);

  @Parameters(name = "{0}")
  public static List<Object[]> providers() {
    return TlsProviders.both();
  }

  @Parameter public String provider;

  private final Echo.Recorder echo = new Echo.Recorder();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<Server> servers = new ArrayList<>();

  @Before
  public void selectProvider() {
    TlsProviders.select(provider);
  }

  @After
  public void tearDown() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    for (Server s : servers) {
      s.shutdownNow();
    }
    for (ManagedChannel c : channels) {
      c.awaitTermination(10, TimeUnit.SECONDS);
    }
    for (Server s : servers) {
      s.awaitTermination(10, TimeUnit.SECONDS);
    }
    TlsProviders.reset();
    LeanLeases.assertAllReturned();
  }

  @Test
  public void leanToLeanUnaryAndLargeMessage() throws Exception {
    Server server = leanServer(TlsTestCerts.server(ClientAuth.NONE));
    ManagedChannel channel = leanChannel(server.getPort(), TlsTestCerts.client(false));
    roundTrips(channel);
    SSLSession session = serverSession();
    assertTrue(session.getProtocol(), session.getProtocol().startsWith("TLSv1."));
    assertEquals(SecurityLevel.PRIVACY_AND_INTEGRITY,
        echo.lastCallAttributes.get().get(GrpcAttributes.ATTR_SECURITY_LEVEL));
    assertEquals(provider.equals("conscrypt"),
        session.getClass().getName().toLowerCase(Locale.ROOT).contains("conscrypt"));
  }

  @Test
  public void perCallAuthorityMismatchFailsTheCall() throws Exception {
    Server server = leanServer(TlsTestCerts.server(ClientAuth.NONE));
    ManagedChannel channel = leanChannel(server.getPort(), TlsTestCerts.client(false));
    byte[] request = {1, 2, 3};
    // server1.pem names *.test.google.fr: another host under it is fine.
    assertArrayEquals(request, ClientCalls.blockingUnaryCall(channel, Echo.UNARY,
        CallOptions.DEFAULT.withAuthority("bar.test.google.fr:443")
            .withDeadlineAfter(30, TimeUnit.SECONDS), request));
    try {
      ClientCalls.blockingUnaryCall(channel, Echo.UNARY,
          CallOptions.DEFAULT.withAuthority("evil.example.com")
              .withDeadlineAfter(30, TimeUnit.SECONDS), request);
      fail("a call for an authority the server's certificate does not name succeeded");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
      assertTrue(e.getStatus().getDescription(), e.getStatus().getDescription().startsWith(
          "per-call authority 'evil.example.com' is not valid for the TLS peer's certificate:"
              + " certificate subject alternative names ["));
    }
    // The connection is fine for the calls it is authenticated for.
    assertArrayEquals(request, call(channel, request));
  }

  @Test
  public void idleTlsConnectionHoldsNoLease() throws Exception {
    Server server = leanServer(TlsTestCerts.server(ClientAuth.NONE));
    ManagedChannel channel = leanChannel(server.getPort(), TlsTestCerts.client(false));
    call(channel, new byte[1000]);
    call(channel, new byte[100_000]);
    LeanLeases.assertAllReturned();
    assertEquals(ConnectivityState.READY, channel.getState(false));
    // Still usable after idling.
    call(channel, new byte[10]);
  }

  @Test
  public void mutualTlsSucceeds() throws Exception {
    Server server = leanServer(TlsTestCerts.server(ClientAuth.REQUIRE));
    ManagedChannel channel = leanChannel(server.getPort(), TlsTestCerts.client(true));
    call(channel, new byte[100]);
    X509Certificate peer = (X509Certificate) serverSession().getPeerCertificates()[0];
    assertTrue(peer.getSubjectX500Principal().getName(),
        peer.getSubjectX500Principal().getName().contains("CN=testclient"));
  }

  @Test
  public void mutualTlsWithoutClientCertificateIsUnavailable() throws Exception {
    Server server = leanServer(TlsTestCerts.server(ClientAuth.REQUIRE));
    ManagedChannel channel = leanChannel(server.getPort(), TlsTestCerts.client(false));
    Status status = failedCall(channel);
    assertEquals(status.toString(), Status.Code.UNAVAILABLE, status.getCode());
  }

  @Test
  public void untrustedServerIsUnavailableWithTheReason() throws Exception {
    Server server = leanServer(TlsTestCerts.server(ClientAuth.NONE));
    ManagedChannel channel =
        leanChannel(server.getPort(), TlsTestCerts.client("badserver.pem", null));
    Status status = failedCall(channel);
    assertEquals(status.toString(), Status.Code.UNAVAILABLE, status.getCode());
    String description = String.valueOf(status.getDescription());
    assertTrue(description, description.contains("security handshake failed"));
    assertTrue(description, description.toLowerCase(Locale.ROOT).contains("cert"));
  }

  @Test
  public void leanClientToNettyServer() throws Exception {
    Server server = NettyServerBuilder.forPort(0, TlsTestCerts.server(ClientAuth.REQUIRE))
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .addService(echo.service())
        .build()
        .start();
    servers.add(server);
    roundTrips(leanChannel(server.getPort(), TlsTestCerts.client(true)));
    assertNotNull(serverSession());
  }

  @Test
  public void nettyClientToLeanServer() throws Exception {
    Server server = leanServer(TlsTestCerts.server(ClientAuth.REQUIRE));
    ManagedChannel channel = NettyChannelBuilder
        .forAddress("localhost", server.getPort(), TlsTestCerts.client(true))
        .overrideAuthority(TlsTestCerts.AUTHORITY)
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .build();
    channels.add(channel);
    roundTrips(channel);
    assertNotNull(serverSession().getPeerCertificates());
  }

  @Test
  public void okHttpClientToLeanServer() throws Exception {
    Server server = leanServer(TlsTestCerts.server(ClientAuth.NONE));
    ManagedChannel channel = OkHttpChannelBuilder
        .forAddress("localhost", server.getPort(), TlsTestCerts.client(false))
        .overrideAuthority(TlsTestCerts.AUTHORITY)
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .build();
    channels.add(channel);
    roundTrips(channel);
    assertNotNull(serverSession());
  }

  /**
   * The server's write of sealed bytes fails (connection reset) while its sealed lease is out;
   * SecureSocket.writeRaw must still return that lease.
   */
  @Test
  public void clientVanishingMidResponseLeavesNoLease() throws Exception {
    Server server = leanServer(TlsTestCerts.server(ClientAuth.NONE));
    for (int i = 0; i < 5; i++) {
      ManagedChannel channel = NettyChannelBuilder
          .forAddress("localhost", server.getPort(), TlsTestCerts.client(false))
          .overrideAuthority(TlsTestCerts.AUTHORITY)
          .maxInboundMessageSize(MAX_MESSAGE_BYTES)
          .build();
      channels.add(channel);
      call(channel, new byte[1]);
      // The server is still sealing and writing 10 MiB when the client's socket goes away.
      ClientCalls.futureUnaryCall(channel.newCall(Echo.UNARY, CallOptions.DEFAULT),
          new byte[LARGE_BYTES]);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (echo.lastCallAttributes.get() == null || echo.calls.get() < 2 * (i + 1)) {
        assertTrue("the large call never reached the server", System.nanoTime() < deadline);
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
      }
      channel.shutdownNow();
      channel.awaitTermination(10, TimeUnit.SECONDS);
    }
    LeanLeases.assertAllReturned();
  }

  private Server leanServer(ServerCredentials creds) throws Exception {
    Server server = LeanServerBuilder.forPort(0, creds)
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .addService(echo.service())
        .build()
        .start();
    servers.add(server);
    return server;
  }

  private ManagedChannel leanChannel(int port, ChannelCredentials creds) {
    ManagedChannel channel = LeanChannelBuilder.forAddress("localhost", port, creds)
        .overrideAuthority(TlsTestCerts.AUTHORITY)
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .build();
    channels.add(channel);
    return channel;
  }

  private SSLSession serverSession() {
    assertNotNull("no call reached the server", echo.lastCallAttributes.get());
    SSLSession session = echo.lastCallAttributes.get().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    assertNotNull("server call has no SSL session", session);
    return session;
  }

  private static void roundTrips(ManagedChannel channel) {
    for (int size : new int[] {0, 1, 1000, 70_000, LARGE_BYTES}) {
      byte[] request = HandshakePair.payload(size);
      assertArrayEquals("size " + size, request, call(channel, request));
    }
  }

  private static byte[] call(ManagedChannel channel, byte[] request) {
    return ClientCalls.blockingUnaryCall(channel, Echo.UNARY,
        CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), request);
  }

  private static Status failedCall(ManagedChannel channel) {
    try {
      call(channel, new byte[10]);
      fail("the call succeeded");
      return null;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }
}
