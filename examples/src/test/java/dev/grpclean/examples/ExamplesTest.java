package dev.grpclean.examples;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.grpclean.examples.chat.ChatClient;
import dev.grpclean.examples.chat.ChatServer;
import dev.grpclean.examples.helloworld.HelloWorldClient;
import dev.grpclean.examples.helloworld.HelloWorldServer;
import dev.grpclean.examples.tls.TlsHelloWorldClient;
import dev.grpclean.examples.tls.TlsHelloWorldServer;
import io.grpc.testing.TlsTesting;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Runs every example's {@code main} end to end, as a user would from the command line: the
 * server's main on a free port in a thread of its own, the clients' mains against it; checks what
 * they print; then interrupts the server's main, which shuts its server down.
 *
 * <p>Thread-compatible: the JUnit thread drives; the captured output is synchronized.
 */
@RunWith(JUnit4.class)
public class ExamplesTest {
  @ClassRule public static final Timeout CLASS_TIMEOUT = Timeout.seconds(120);

  @Rule
  public final Timeout timeout =
      Timeout.builder().withTimeout(60, TimeUnit.SECONDS).withLookingForStuckThread(true).build();

  @Rule public final TemporaryFolder temp = new TemporaryFolder();

  private static final Pattern LISTENING = Pattern.compile("listening on (\\d+)");
  private static final long WAIT_SECONDS = 30;

  private final ExecutorService mains = Executors.newCachedThreadPool();
  private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
  private final AtomicReference<Throwable> serverFailure = new AtomicReference<>();
  private PrintStream originalOut;

  @Before
  public void captureOutput() {
    originalOut = System.out;
    OutputStream tee = new OutputStream() {
      @Override
      public void write(int b) {
        synchronized (captured) {
          captured.write(b);
        }
        originalOut.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        synchronized (captured) {
          captured.write(b, off, len);
        }
        originalOut.write(b, off, len);
      }
    };
    System.setOut(new PrintStream(tee, true, StandardCharsets.UTF_8));
  }

  @After
  public void restoreOutput() {
    System.setOut(originalOut);
    mains.shutdownNow();
  }

  @Test
  public void helloWorld() throws Exception {
    Thread server = startServerMain(() -> HelloWorldServer.main(new String[] {"0"}));
    int port = awaitListening();
    HelloWorldClient.main(new String[] {"world", "localhost:" + port});
    assertPrinted("Greeting: Hello world");
    stop(server);
  }

  @Test
  public void bidirectionalStreamingChat() throws Exception {
    Thread server = startServerMain(() -> ChatServer.main(new String[] {"0"}));
    String target = "localhost:" + awaitListening();
    Future<?> alice = mains.submit(
        () -> run(() -> ChatClient.main(new String[] {target, "alice", "hi", "how are you?"})));
    Future<?> bob = mains.submit(
        () -> run(() -> ChatClient.main(new String[] {target, "bob", "hello", "fine", "bye"})));
    alice.get(WAIT_SECONDS, TimeUnit.SECONDS);
    bob.get(WAIT_SECONDS, TimeUnit.SECONDS);
    for (String line : new String[] {
        "> alice: hi", "> alice: how are you?", "> bob: hello", "> bob: fine", "> bob: bye",
        "alice left", "bob left"}) {
      assertPrinted(line);
    }
    stop(server);
  }

  @Test
  public void helloWorldOverTls() throws Exception {
    File certChain = copyCert("server1.pem");
    File key = copyCert("server1.key");
    File ca = copyCert("ca.pem");
    Thread server = startServerMain(() -> TlsHelloWorldServer.main(
        new String[] {"0", certChain.getPath(), key.getPath()}));
    int port = awaitListening();
    // server1.pem names *.test.google.fr, not localhost: check it against such a name.
    TlsHelloWorldClient.main(
        new String[] {"localhost:" + port, ca.getPath(), "foo.test.google.fr"});
    assertPrinted("Greeting: Hello TLS");
    stop(server);
  }

  private File copyCert(String name) throws Exception {
    File file = temp.newFile(name);
    try (InputStream in = TlsTesting.loadCert(name)) {
      Files.write(file.toPath(), in.readAllBytes());
    }
    return file;
  }

  private String output() {
    synchronized (captured) {
      return captured.toString(StandardCharsets.UTF_8);
    }
  }

  /** Waits (bounded) for the server's main to print its port. */
  private int awaitListening() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    while (true) {
      Matcher m = LISTENING.matcher(output());
      if (m.find()) {
        return Integer.parseInt(m.group(1));
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("server did not print its port: " + output());
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
  }

  private void assertPrinted(String line) {
    assertTrue("printed \"" + line + "\": " + output(), output().contains(line + "\n"));
  }

  /** Runs a server's main in a thread of its own; a failure other than the interrupt is kept. */
  private Thread startServerMain(Main main) {
    Thread thread = new Thread(() -> {
      try {
        main.run();
      } catch (InterruptedException e) {
        // how the test stops a server's main
      } catch (Throwable t) {
        serverFailure.compareAndSet(null, t);
      }
    }, "server-main");
    thread.start();
    return thread;
  }

  /** Interrupts a server's main (its awaitTermination) and waits for it to shut down and end. */
  private void stop(Thread server) throws Exception {
    server.interrupt();
    server.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
    assertFalse("server main ended", server.isAlive());
    if (serverFailure.get() != null) {
      throw new AssertionError("server main failed", serverFailure.get());
    }
  }

  private interface Main {
    void run() throws Exception;
  }

  private static Void run(Main main) throws Exception {
    try {
      main.run();
    } catch (InterruptedException e) {
      // how the test stops a server's main
    }
    return null;
  }
}
