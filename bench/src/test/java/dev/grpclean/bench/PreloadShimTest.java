package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeNotNull;

import dev.grpclean.bench.PreloadCounters.Counter;
import dev.grpclean.bench.PreloadCounters.Counts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/**
 * The preload library, compiled with the machine's gcc (skipped without one), counts exactly the
 * socket I/O a child JVM does ({@link SocketIoChild}), its EAGAINs and bytes, pipe I/O apart,
 * and no file reads; and without a counter file it only forwards.
 */
public class PreloadShimTest {
  @ClassRule public static final TemporaryFolder FOLDER = new TemporaryFolder();
  @Rule public final Timeout timeout = Timeout.seconds(180);

  private static PreloadShim shim;

  @BeforeClass
  public static void compile() throws Exception {
    Path gcc = SyscallTrace.locate("gcc", System.getenv("PATH"));
    assumeNotNull(gcc);
    shim = PreloadShim.compile(gcc, FOLDER.newFolder("shim").toPath());
  }

  @Test
  public void countsEverySocketReadAndWriteAndNoFileRead() throws Exception {
    int pingPongs = 2000;
    int gatherings = 5;
    int emptyReads = 11;
    int fileReads = 23;
    int pipeRounds = 3;
    Path counters = FOLDER.getRoot().toPath().resolve("child.syscount");
    long pid = runChild(shim.env(counters), pingPongs, gatherings, emptyReads, fileReads,
        pipeRounds);
    Counts c = PreloadCounters.read(counters);
    assertEquals(pid, c.pid);
    // Both ends live in the one JVM: the client's and the server's calls add up.
    assertEquals(2 * pingPongs + gatherings + emptyReads, c.get(Counter.SOCKET_READS));
    assertEquals(emptyReads, c.get(Counter.SOCKET_READS_EAGAIN));
    assertEquals(pingPongs * (SocketIoChild.PING_BYTES + 1L)
        + gatherings * (long) SocketIoChild.PING_BYTES, c.get(Counter.SOCKET_READ_BYTES));
    assertEquals(2 * pingPongs + gatherings, c.get(Counter.SOCKET_WRITES));
    assertEquals(0, c.get(Counter.SOCKET_WRITES_EAGAIN));
    assertEquals(c.get(Counter.SOCKET_READ_BYTES), c.get(Counter.SOCKET_WRITE_BYTES));
    assertEquals(pipeRounds, c.get(Counter.WAKEUP_READS));
    assertEquals(pipeRounds, c.get(Counter.WAKEUP_WRITES));
    // A descriptor's kind is learnt once (the JVM's start-up files make a few dozen), not per
    // call: thousands of calls here.
    assertTrue("fstat calls: " + c.get(Counter.FD_CLASSIFIED),
        c.get(Counter.FD_CLASSIFIED) < 200);
  }

  @Test
  public void withoutACounterFileItOnlyForwards() throws Exception {
    Map<String, String> env = shim.env(FOLDER.getRoot().toPath().resolve("unused"));
    env.remove(PreloadShim.FILE_ENV);
    runChild(env, 3, 1, 1, 1, 1);
    assertTrue(Files.notExists(FOLDER.getRoot().toPath().resolve("unused")));
  }

  /** Runs {@link SocketIoChild} with {@code env}, checks it exits 0, returns its pid. */
  private static long runChild(Map<String, String> env, int pingPongs, int gatherings,
      int emptyReads, int fileReads, int pipeRounds) throws Exception {
    Path file = FOLDER.newFile().toPath();
    Files.write(file, new byte[fileReads]);
    Path log = FOLDER.newFile().toPath();
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        SocketIoChild.class.getName()));
    for (int n : new int[] {pingPongs, gatherings, emptyReads, fileReads, pipeRounds}) {
      command.add(Integer.toString(n));
    }
    command.add(file.toString());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    try {
      assertTrue("the child did not end in time", p.waitFor(120, TimeUnit.SECONDS));
      assertEquals("the child failed:\n" + Files.readString(log, StandardCharsets.UTF_8), 0,
          p.exitValue());
      return p.pid();
    } finally {
      p.destroyForcibly();
    }
  }
}
