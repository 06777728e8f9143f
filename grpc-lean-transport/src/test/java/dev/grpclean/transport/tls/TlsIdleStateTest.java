package dev.grpclean.transport.tls;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.LeanTransportStats;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.HandshakerCredentials;
import dev.grpclean.transport.spi.HandshakerFactory;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.TlsServerCredentials.ClientAuth;
import io.grpc.stub.ClientCalls;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * What an idle TLS connection keeps, per provider: once secured, neither side holds its
 * handshaker (the handshake's own state goes with it), nothing is leased, and all channels built
 * from one credentials object share one TLS context instead of a context (trust managers, parsed
 * roots, session cache) each.
 */
@RunWith(Parameterized.class)
public class TlsIdleStateTest {
  private static final int CHANNELS = 3;
  /** Collections to try before concluding that something still holds a handshaker. */
  private static final int GC_ATTEMPTS = 50;

  @Rule public final Timeout timeout = Timeout.seconds(120);

  @Parameters(name = "{0}")
  public static List<Object[]> providers() {
    return TlsProviders.both();
  }

  @Parameter public String provider;

  private final Echo.Recorder echo = new Echo.Recorder();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private Server server;

  @Before
  public void selectProvider() {
    TlsProviders.select(provider);
  }

  @After
  public void tearDown() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow();
      c.awaitTermination(10, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow();
      server.awaitTermination(10, TimeUnit.SECONDS);
    }
    TlsProviders.reset();
    LeanLeases.assertAllReturned();
  }

  @Test
  public void channelsFromOneCredentialsObjectShareOneContext() {
    ChannelCredentials creds = TlsTestCerts.client(false);
    HandshakerFactory first = TlsHandshakers.forClient((TlsChannelCredentials) creds);
    assertSame(first, TlsHandshakers.forClient((TlsChannelCredentials) creds));
    assertNotSame("other credentials, other context", first,
        TlsHandshakers.forClient((TlsChannelCredentials) TlsTestCerts.client(false)));
    assertSame(TlsHandshakers.forDefaultClient(), TlsHandshakers.forDefaultClient());

    TlsProviders.select(provider.equals("jdk") ? "conscrypt" : "jdk");
    HandshakerFactory other = TlsHandshakers.forClient((TlsChannelCredentials) creds);
    assertNotSame("the provider changed, so the context is rebuilt", first, other);
    assertEquals(provider.equals("jdk") ? TlsProvider.CONSCRYPT : TlsProvider.JDK,
        ((TlsHandshakerFactory) other).provider());
  }

  @Test
  public void securedConnectionsKeepNoHandshakerAndLeaseNothing() throws Exception {
    Recording serverSide = new Recording(TlsHandshakers.forServer(
        (TlsServerCredentials) TlsTestCerts.server(ClientAuth.NONE)));
    Recording clientSide = new Recording(TlsHandshakers.forClient(
        (TlsChannelCredentials) TlsTestCerts.client(false)));
    server = LeanServerBuilder.forPort(0, serverSide.serverCredentials())
        .addService(echo.service())
        .build()
        .start();
    for (int i = 0; i < CHANNELS; i++) {
      ManagedChannel channel = LeanChannelBuilder
          .forAddress("localhost", server.getPort(), clientSide.channelCredentials())
          .overrideAuthority(TlsTestCerts.AUTHORITY)
          .build();
      channels.add(channel);
      for (int size : new int[] {10, 70_000}) {
        byte[] request = HandshakePair.payload(size);
        assertArrayEquals(request, ClientCalls.blockingUnaryCall(channel, Echo.UNARY,
            CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), request));
      }
    }
    assertEquals(CHANNELS, clientSide.made.size());
    assertEquals(CHANNELS, serverSide.made.size());

    // All connections are up and idle: the loops' last turns return their leases.
    LeanLeases.assertNoneLeased();
    assertEquals(0, LeanTransportStats.leasesOutstanding());
    for (int i = 0; i < GC_ATTEMPTS && (clientSide.alive() > 0 || serverSide.alive() > 0); i++) {
      System.gc();
    }
    assertEquals("client handshakers still reachable", 0, clientSide.alive());
    assertEquals("server handshakers still reachable", 0, serverSide.alive());
  }

  /** Credentials over a real TLS factory that remember (weakly) each handshaker it makes. */
  private static final class Recording implements HandshakerFactory {
    final HandshakerFactory delegate;
    final List<WeakReference<Handshaker>> made =
        Collections.synchronizedList(new ArrayList<>());

    Recording(HandshakerFactory delegate) {
      this.delegate = delegate;
    }

    @Override
    public Handshaker newHandshaker(String authority, java.net.SocketAddress remote) {
      Handshaker h = delegate.newHandshaker(authority, remote);
      made.add(new WeakReference<>(h));
      return h;
    }

    int alive() {
      synchronized (made) {
        int n = 0;
        for (WeakReference<Handshaker> ref : made) {
          if (ref.get() != null) {
            n++;
          }
        }
        return n;
      }
    }

    ChannelCredentials channelCredentials() {
      return new RecordingChannelCredentials(this);
    }

    ServerCredentials serverCredentials() {
      return new RecordingServerCredentials(this);
    }
  }

  private static final class RecordingChannelCredentials extends ChannelCredentials
      implements HandshakerCredentials {
    private final HandshakerFactory factory;

    RecordingChannelCredentials(HandshakerFactory factory) {
      this.factory = factory;
    }

    @Override
    public HandshakerFactory handshakerFactory(boolean client) {
      return factory;
    }

    @Override
    public ChannelCredentials withoutBearerTokens() {
      return this;
    }
  }

  private static final class RecordingServerCredentials extends ServerCredentials
      implements HandshakerCredentials {
    private final HandshakerFactory factory;

    RecordingServerCredentials(HandshakerFactory factory) {
      this.factory = factory;
    }

    @Override
    public HandshakerFactory handshakerFactory(boolean client) {
      return factory;
    }
  }
}
