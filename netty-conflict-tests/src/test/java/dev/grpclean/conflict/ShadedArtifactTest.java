package dev.grpclean.conflict;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import dev.grpclean.transport.LeanChannelBuilder;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * What the shaded artifact is made of, read from the jar the shaded run loads lean from and from
 * the dependency-reduced pom that is installed with it: only our classes and Netty relocated under
 * {@code dev.grpclean.shaded.io.netty}; service files naming relocated classes; a pom that passes
 * on no Netty (and not the plain artifact, which would bring it back).
 *
 * <p>Thread-compatible (JUnit's thread only).
 */
@RunWith(JUnit4.class)
public class ShadedArtifactTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private static File shadedJar() {
    assumeTrue("the shaded run only", "shaded".equals(System.getProperty("conflict.artifact")));
    return new File(LeanChannelBuilder.class.getProtectionDomain().getCodeSource().getLocation()
        .getPath());
  }

  @Test
  public void jarHoldsOnlyOurClassesAndRelocatedNetty() throws IOException {
    List<String> foreign = new ArrayList<>();
    int relocated = 0;
    try (JarFile jar = new JarFile(shadedJar())) {
      for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
        String name = e.nextElement().getName();
        if (name.startsWith("dev/grpclean/shaded/io/netty/")) {
          relocated++;
        } else if (!name.startsWith("dev/grpclean/transport/") && !name.startsWith("META-INF/")
            && !name.equals("dev/") && !name.equals("dev/grpclean/")
            && !name.equals("dev/grpclean/shaded/") && !name.equals("dev/grpclean/shaded/io/")) {
          foreign.add(name);
        }
      }
    }
    assertEquals("entries outside our packages", List.of(), foreign);
    assertTrue("relocated Netty classes: " + relocated, relocated > 0);
  }

  @Test
  public void serviceFilesNameOurProvidersAndRelocatedClasses() throws IOException {
    try (JarFile jar = new JarFile(shadedJar())) {
      assertEquals("dev.grpclean.transport.LeanChannelProvider",
          read(jar, "META-INF/services/io.grpc.ManagedChannelProvider").trim());
      assertEquals("dev.grpclean.transport.LeanServerProvider",
          read(jar, "META-INF/services/io.grpc.ServerProvider").trim());
      for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
        String name = e.nextElement().getName();
        if (name.startsWith("META-INF/services/") && !name.endsWith("/")) {
          String content = read(jar, name);
          assertFalse(name + " names an unrelocated Netty class: " + content,
              content.lines().anyMatch(l -> l.startsWith("io.netty.")));
        }
      }
    }
  }

  @Test
  public void installedPomPassesOnNoNetty() throws IOException {
    shadedJar();
    String pom = Files.readString(
        new File(System.getProperty("shaded.pom")).toPath(), StandardCharsets.UTF_8);
    String dependencies = pom.substring(pom.indexOf("<dependencies>"));
    assertFalse(dependencies, dependencies.contains("io.netty"));
    assertFalse(dependencies, dependencies.contains("<artifactId>grpc-lean-transport</artifactId>"));
    assertTrue(dependencies, dependencies.contains("<artifactId>grpc-core</artifactId>"));
  }

  private static String read(JarFile jar, String name) throws IOException {
    try (InputStream in = jar.getInputStream(jar.getEntry(name))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
