package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.bench.child.ChildMain;
import java.io.IOException;
import java.net.ServerSocket;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/**
 * Runs that cannot finish: a child JVM that dies, a server that cannot be reached. Each is
 * reported in one message without a stack trace, the exit status is 1, and no child survives.
 */
public class FailureTest {
  @Rule public final Timeout timeout = Timeout.seconds(120);
  @Rule public final TemporaryFolder folder = new TemporaryFolder();

  @After
  public void noChildLeft() {
    assertEquals(0, ProcessHandle.current().children().filter(ProcessHandle::isAlive).count());
  }

  @Test
  public void crashedServerIsReported() {
    CliRun run = CliRun.run(folder.getRoot().toPath(), "idle", "--connections", "2",
        "--inject-fault", "server:snapshot");
    assertEquals(run.toString(), 1, run.exitCode);
    assertTrue(run.err, run.err.contains("server JVM (lean): 'snapshot' failed: the JVM exited "
        + "with status " + ChildMain.FAULT_EXIT_STATUS));
    assertTrue(run.err, run.err.contains("halting on purpose"));
    assertFalse(run.err, run.err.contains("\tat "));
  }

  @Test
  public void crashedClientIsReported() {
    CliRun run = CliRun.run(folder.getRoot().toPath(), "unary", "--duration", "1",
        "--warmup", "0", "--transports", "netty", "--inject-fault", "client:unary");
    assertEquals(run.toString(), 1, run.exitCode);
    assertTrue(run.err, run.err.contains("client JVM (netty): 'unary' failed: the JVM exited"));
  }

  @Test
  public void unreachableServerIsReported() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    CliRun run = CliRun.run(folder.getRoot().toPath(), "idle", "--connections", "2",
        "--connect-port", String.valueOf(closedPort));
    assertEquals(run.toString(), 1, run.exitCode);
    assertTrue(run.err, run.err.contains("cannot reach the server at 127.0.0.1:" + closedPort));
    assertFalse(run.err, run.err.contains("\tat "));
  }
}
