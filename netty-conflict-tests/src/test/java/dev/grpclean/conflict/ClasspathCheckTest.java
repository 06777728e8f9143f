package dev.grpclean.conflict;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanChannelBuilder;
import io.netty.util.Version;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Pins down what each run of this module really has on its classpath, so the contract suite's
 * result says what it claims: the application's Netty is the version the module pins (system
 * property {@code conflict.netty.version}) in both runs, and the lean classes come from the
 * artifact the run is for ({@code conflict.artifact}: {@code shaded} or {@code plain}).
 *
 * <p>Thread-compatible (JUnit's thread only).
 */
@RunWith(JUnit4.class)
public class ClasspathCheckTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private static boolean loadable(String className) {
    try {
      Class.forName(className, false, ClasspathCheckTest.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  @Test
  public void applicationNettyIsThePinnedVersion() {
    String pinned = System.getProperty("conflict.netty.version");
    Version common = Version.identify().get("netty-common");
    Version http2 = Version.identify().get("netty-codec-http2");
    assertEquals("netty-common", pinned, common.artifactVersion());
    assertEquals("netty-codec-http2", pinned, http2.artifactVersion());
    System.out.println("CONFLICT " + System.getProperty("conflict.artifact")
        + " run: application Netty " + common.artifactVersion() + ", lean classes from "
        + LeanChannelBuilder.class.getProtectionDomain().getCodeSource().getLocation());
  }

  @Test
  public void leanClassesComeFromTheArtifactUnderTest() {
    String artifact = System.getProperty("conflict.artifact");
    String jar = LeanChannelBuilder.class.getProtectionDomain().getCodeSource().getLocation()
        .getPath();
    boolean shadedNetty = loadable("dev.grpclean.shaded.io.netty.handler.codec.http2.Http2Headers");
    if ("shaded".equals(artifact)) {
      assertTrue(jar, jar.contains("grpc-lean-transport-shaded"));
      assertTrue("relocated Netty present", shadedNetty);
    } else {
      assertEquals("plain", artifact);
      assertFalse(jar, jar.contains("grpc-lean-transport-shaded"));
      assertTrue(jar, jar.contains("grpc-lean-transport"));
      assertFalse("no relocated Netty", shadedNetty);
    }
  }

  @Test
  public void leanChannelBuildsAndShutsDown() throws Exception {
    io.grpc.ManagedChannel channel =
        LeanChannelBuilder.forAddress("localhost", 1).usePlaintext().build();
    channel.shutdownNow();
    assertTrue(channel.awaitTermination(10, TimeUnit.SECONDS));
  }
}
