package dev.grpclean.transport;

import static dev.grpclean.transport.FaultFixtures.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.FaultFixtures.ServerCallProbe;
import dev.grpclean.transport.FaultFixtures.ServerStreamCloses;
import dev.grpclean.transport.contract.ServerTransportCounter;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import dev.grpclean.transport.testing.Observers;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The peer process dies mid-stream ({@code destroyForcibly}, SIGKILL on Unix): the kernel closes
 * its sockets, with FIN or RST depending on what was left unread. The peer is a real lean client
 * or server in a forked JVM ({@link FaultPeerMain}); the surviving side is in this JVM and must end
 * its call with the right status, drop the connection and return every lease.
 *
 * <p>The JUnit thread forks and kills the peer; a reader thread turns the peer's standard output
 * into a future; the in-process calls report through latches and futures.
 */
public class KilledPeerProcessTest {
  private static final Logger log = Logger.getLogger(KilledPeerProcessTest.class.getName());

  /** Messages the surviving side must receive before the kill: the stream is really flowing. */
  private static final int MESSAGES_BEFORE_KILL = 20;
  /** Bound on a forked JVM's start: class loading on a busy 2-core machine takes seconds. */
  private static final Duration CHILD_START_WAIT = Duration.ofSeconds(60);

  @Rule public final Timeout timeout = Timeout.seconds(180);

  private final ServerCallProbe probe = new ServerCallProbe();
  private final ServerTransportCounter transports = new ServerTransportCounter();
  private final ServerStreamCloses closes = new ServerStreamCloses();
  private final CountDownLatch uploadFlowing = new CountDownLatch(MESSAGES_BEFORE_KILL);
  private Process child;
  private File childErr;
  private Server server;
  private ManagedChannel channel;
  private long baseline;

  @Before
  public void setUp() throws IOException {
    baseline = LeanLeases.baseline();
    childErr = File.createTempFile("fault-peer", ".err");
  }

  @After
  public void tearDown() throws Exception {
    try {
      if (child != null) {
        child.destroyForcibly();
        assertTrue("peer process exits", child.waitFor(30, TimeUnit.SECONDS));
      }
      if (channel != null) {
        channel.shutdownNow();
        assertTrue("channel terminates", channel.awaitTermination(10, TimeUnit.SECONDS));
      }
      if (server != null) {
        server.shutdownNow();
        assertTrue("server terminates", server.awaitTermination(10, TimeUnit.SECONDS));
      }
    } finally {
      Files.deleteIfExists(childErr.toPath());
    }
  }

  /** A lean client in another process streams to our server; the process is killed. */
  @Test
  public void killedClientProcessCancelsTheServerCall() throws Exception {
    server = LeanServerBuilder.forPort(0)
        .addTransportFilter(transports)
        .addStreamTracerFactory(closes)
        .addService(uploadSink())
        .addService(Echo.service())
        .build()
        .start();
    child = fork("client", String.valueOf(server.getPort()));
    awaitWithChildLog(uploadFlowing, "messages from the peer's upload");

    killChild();

    probe.assertCancelled();
    Status status = closes.next();
    log.info("server stream closed with " + status);
    assertEquals(status.toString(), Status.Code.UNAVAILABLE, status.getCode());
    transports.awaitTerminated(1, FaultFixtures.WAIT);
    LeanLeases.assertBackTo(baseline);
    FaultFixtures.assertEchoServed(server);
    LeanLeases.assertBackTo(baseline);
  }

  /** Our lean client streams from a lean server in another process; the process is killed. */
  @Test
  public void killedServerProcessFailsTheClientCallUnavailable() throws Exception {
    child = fork("server");
    int port = Integer.parseInt(readPortLine(child));
    channel = LeanChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    CountDownLatch downloadFlowing = new CountDownLatch(MESSAGES_BEFORE_KILL);
    CompletableFuture<Status> callStatus = new CompletableFuture<>();
    ClientCalls.asyncServerStreamingCall(
        channel.newCall(FaultFixtures.DOWNLOAD, CallOptions.DEFAULT), new byte[] {1},
        Observers.endingIn(callStatus, response -> downloadFlowing.countDown()));
    awaitWithChildLog(downloadFlowing, "messages from the peer's download");

    killChild();

    FaultFixtures.assertConnectionLost(callStatus, "the download's end", channel, baseline);
  }

  private void killChild() throws InterruptedException {
    child.destroyForcibly();
    assertTrue("peer process exits", child.waitFor(30, TimeUnit.SECONDS));
  }

  /** Consumes upload messages; never answers. */
  private ServerServiceDefinition uploadSink() {
    return ServerServiceDefinition.builder(FaultFixtures.SERVICE)
        .addMethod(FaultFixtures.UPLOAD, ServerCalls.asyncClientStreamingCall(responses -> {
          probe.attach(responses);
          return new StreamObserver<byte[]>() {
            @Override
            public void onNext(byte[] value) {
              uploadFlowing.countDown();
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          };
        }))
        .build();
  }

  /** Starts {@link FaultPeerMain} with {@code args} in a new JVM on this test's classpath. */
  private Process fork(String... args) throws IOException {
    String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    String[] command = new String[5 + args.length];
    command[0] = java;
    command[1] = "-Xmx128m";
    command[2] = "-cp";
    command[3] = System.getProperty("java.class.path");
    command[4] = FaultPeerMain.class.getName();
    System.arraycopy(args, 0, command, 5, args.length);
    return new ProcessBuilder(command)
        .redirectError(ProcessBuilder.Redirect.to(childErr))
        .start();
  }

  /** Reads the server peer's {@code PORT <n>} line, on a thread of its own, with a bound. */
  private String readPortLine(Process process) throws Exception {
    CompletableFuture<String> line = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader out = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String l;
        while ((l = out.readLine()) != null) {
          if (l.startsWith(FaultPeerMain.PORT_LINE)) {
            line.complete(l.substring(FaultPeerMain.PORT_LINE.length()).trim());
          }
        }
        line.completeExceptionally(new IOException("peer exited without a port"));
      } catch (IOException e) {
        line.completeExceptionally(e);
      }
    }, "fault-peer-stdout");
    reader.setDaemon(true);
    reader.start();
    try {
      return line.get(CHILD_START_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("no port from the peer; its stderr:\n" + childLog(), e);
    }
  }

  private void awaitWithChildLog(CountDownLatch latch, String what) throws Exception {
    if (!latch.await(CHILD_START_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("not within " + CHILD_START_WAIT + ": " + what
          + "; peer alive=" + child.isAlive() + ", its stderr:\n" + childLog());
    }
  }

  private String childLog() throws IOException {
    return new String(Files.readAllBytes(childErr.toPath()), StandardCharsets.UTF_8);
  }
}
