package dev.grpclean.interop;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannelBuilder;
import io.grpc.testing.integration.TestCases;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.annotation.Nullable;

/**
 * The interop client command: runs grpc's interop cases against any gRPC server over the chosen
 * transport, prints {@code PASS|FAIL <case> <millis>ms [reason]} per case run and then {@code N
 * passed, N failed}. Exits 0 when all passed, 1 on any failure, 2 on a bad command line and 3 when
 * the transport does not support the security mode (nothing is run then).
 *
 * <p>Cases run one at a time on a daemon thread, so the main thread can give up on a hung one.
 */
public final class InteropClient {
  private static final int EXIT_FAILED = 1;
  /** Longest reason printed on a case line; the whole stack trace goes to stderr. */
  private static final int MAX_REASON_CHARS = 300;

  private InteropClient() {}

  public static void main(String[] args) throws Exception {
    ClientConfig config;
    List<TestCases> cases;
    try {
      config = ClientConfig.parse(args);
      cases = CaseRunner.parse(config.testCases);
    } catch (Flags.UsageException e) {
      e.exitWithUsage(ClientConfig.USAGE);
      return;
    }
    System.exit(run(config, cases));
  }

  private static int run(ClientConfig config, List<TestCases> cases) throws Exception {
    ChannelCredentials credentials;
    try {
      credentials = config.channelCredentials();
      // Builders refuse credentials they do not support at construction or build time.
      ManagedChannelBuilder<?> probe = config.transport
          .channelBuilder(config.host, config.port, credentials, config.hostOverride);
      try {
        probe.build().shutdownNow();
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw config.transport.unsupported(
            "client", config.security.mode() == SecurityMode.INSECURE, e);
      }
    } catch (UnsupportedSecurityException e) {
      String reason = "security " + config.security.mode() + ": " + e.getMessage();
      System.out.println("UNSUPPORTED " + reason);
      System.out.println("0 passed, 0 failed, " + cases.size() * config.numTimes + " skipped");
      report(config, List.of(), reason);
      return InteropServer.EXIT_UNSUPPORTED;
    }
    List<CaseResult> results = new ArrayList<>();
    ExecutorService runner = newRunner();
    try {
      for (TestCases testCase : cases) {
        for (int i = 0; i < config.numTimes; i++) {
          CaseResult result = runOne(testCase, config, credentials, runner);
          System.out.println(result.line());
          results.add(result);
          if (result.timedOut()) {
            // The hung case still owns the runner thread; start the next on a fresh one.
            runner.shutdownNow();
            runner = newRunner();
          }
        }
      }
    } finally {
      runner.shutdownNow();
    }
    long passed = results.stream().filter(CaseResult::passed).count();
    long failed = results.size() - passed;
    System.out.println(passed + " passed, " + failed + " failed");
    report(config, results, null);
    return failed == 0 ? 0 : EXIT_FAILED;
  }

  /** A daemon thread for the cases, so a hung one cannot keep the JVM alive. */
  private static ExecutorService newRunner() {
    return Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "interop-case");
      t.setDaemon(true);
      return t;
    });
  }

  private static CaseResult runOne(
      TestCases testCase, ClientConfig config, ChannelCredentials credentials,
      ExecutorService runner) throws InterruptedException {
    String name = testCase.toString();
    long start = System.nanoTime();
    Future<?> future = runner.submit(() -> {
      InteropTester tester = new InteropTester(config, credentials);
      tester.setUp();
      try {
        CaseRunner.run(testCase, tester, config);
      } finally {
        tester.tearDown();
      }
      return null;
    });
    String reason = null;
    boolean timedOut = false;
    try {
      future.get(CaseRunner.timeoutSeconds(testCase, config), TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      timedOut = true;
      reason = "timed out after " + CaseRunner.timeoutSeconds(testCase, config) + "s";
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      System.err.println("FAIL " + name + ":");
      cause.printStackTrace();
      reason = describe(cause);
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    return new CaseResult(name, reason == null, millis, reason, timedOut);
  }

  /** One line: the failure's type and message, and its root cause's when that differs. */
  private static String describe(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String text = t.getClass().getSimpleName() + ": " + t.getMessage();
    if (t.getMessage() == null) {
      // A bare JUnit assertion: name the check that failed instead.
      text = t.getClass().getSimpleName() + " at " + failingCheck(t);
    }
    if (root != t) {
      text += " (cause " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
    }
    text = text.replaceAll("\\s+", " ");
    return text.length() <= MAX_REASON_CHARS ? text : text.substring(0, MAX_REASON_CHARS) + "...";
  }

  /** The innermost frame of grpc's test code, e.g. {@code AbstractInteropTest.java:1790}. */
  private static String failingCheck(Throwable t) {
    for (StackTraceElement frame : t.getStackTrace()) {
      if (frame.getClassName().startsWith("io.grpc.testing.integration.")) {
        return frame.getClassName().substring("io.grpc.testing.integration.".length())
            + "." + frame.getMethodName() + "(" + frame.getFileName() + ":"
            + frame.getLineNumber() + ")";
      }
    }
    StackTraceElement[] trace = t.getStackTrace();
    return trace.length == 0 ? "unknown" : trace[0].toString();
  }

  private static void report(ClientConfig config, List<CaseResult> results,
      @Nullable String unsupported) throws java.io.IOException {
    if (config.reportFile != null) {
      JsonReport.write(Path.of(config.reportFile), config, results, unsupported);
    }
  }
}
