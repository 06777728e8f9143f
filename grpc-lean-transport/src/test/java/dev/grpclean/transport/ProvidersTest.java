package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ManagedChannelProvider;
import io.grpc.ServerProvider;
import io.grpc.TlsChannelCredentials;
import java.util.ServiceLoader;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class ProvidersTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Test
  public void providersAreRegisteredForServiceLoading() {
    boolean channel = false;
    for (ManagedChannelProvider p : ServiceLoader.load(ManagedChannelProvider.class)) {
      channel |= p instanceof LeanChannelProvider;
    }
    boolean server = false;
    for (ServerProvider p : ServiceLoader.load(ServerProvider.class)) {
      server |= p instanceof LeanServerProvider;
    }
    assertTrue("LeanChannelProvider in META-INF/services", channel);
    assertTrue("LeanServerProvider in META-INF/services", server);
  }

  @Test
  public void defaultPriorityStaysBelowNetty() {
    assertEquals(4, new LeanChannelProvider().priority());
    assertEquals(4, new LeanServerProvider().priority());
    // With grpc-netty-shaded on the test classpath, the registry still picks Netty.
    ManagedChannelBuilder<?> b = Grpc.newChannelBuilder("localhost:1",
        InsecureChannelCredentials.create());
    assertTrue(b.getClass().getName(), b.getClass().getName().contains("netty"));
  }

  @Test
  public void priorityPropertyRaisesLean() {
    String old = System.getProperty(LeanChannelProvider.PRIORITY_PROPERTY);
    System.setProperty(LeanChannelProvider.PRIORITY_PROPERTY, "6");
    try {
      assertEquals(6, new LeanChannelProvider().priority());
      System.setProperty(LeanChannelProvider.PRIORITY_PROPERTY, "not a number");
      assertEquals(4, new LeanChannelProvider().priority());
    } finally {
      if (old == null) {
        System.clearProperty(LeanChannelProvider.PRIORITY_PROPERTY);
      } else {
        System.setProperty(LeanChannelProvider.PRIORITY_PROPERTY, old);
      }
    }
  }

  @Test
  public void newChannelBuilderAcceptsSupportedCredentials() {
    LeanChannelProvider p = new LeanChannelProvider();
    assertTrue(p.newChannelBuilder("localhost:1", InsecureChannelCredentials.create())
        .getChannelBuilder() instanceof LeanChannelBuilder);
    assertTrue(p.newChannelBuilder("localhost:1", TlsChannelCredentials.create())
        .getChannelBuilder() instanceof LeanChannelBuilder);
  }
}
