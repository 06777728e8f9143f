package dev.grpclean.interop;

import static io.grpc.testing.integration.TestCases.CANCEL_AFTER_BEGIN;
import static io.grpc.testing.integration.TestCases.CANCEL_AFTER_FIRST_RESPONSE;
import static io.grpc.testing.integration.TestCases.CHANNEL_SOAK;
import static io.grpc.testing.integration.TestCases.CLIENT_COMPRESSED_STREAMING_NOPROBE;
import static io.grpc.testing.integration.TestCases.CLIENT_COMPRESSED_UNARY_NOPROBE;
import static io.grpc.testing.integration.TestCases.CLIENT_STREAMING;
import static io.grpc.testing.integration.TestCases.CUSTOM_METADATA;
import static io.grpc.testing.integration.TestCases.EMPTY_STREAM;
import static io.grpc.testing.integration.TestCases.EMPTY_UNARY;
import static io.grpc.testing.integration.TestCases.LARGE_UNARY;
import static io.grpc.testing.integration.TestCases.PING_PONG;
import static io.grpc.testing.integration.TestCases.RPC_SOAK;
import static io.grpc.testing.integration.TestCases.SERVER_COMPRESSED_STREAMING;
import static io.grpc.testing.integration.TestCases.SERVER_COMPRESSED_UNARY;
import static io.grpc.testing.integration.TestCases.SERVER_STREAMING;
import static io.grpc.testing.integration.TestCases.SPECIAL_STATUS_MESSAGE;
import static io.grpc.testing.integration.TestCases.STATUS_CODE_AND_MESSAGE;
import static io.grpc.testing.integration.TestCases.TIMEOUT_ON_SLEEPING_SERVER;
import static io.grpc.testing.integration.TestCases.UNIMPLEMENTED_METHOD;
import static io.grpc.testing.integration.TestCases.UNIMPLEMENTED_SERVICE;
import static io.grpc.testing.integration.TestCases.VERY_LARGE_REQUEST;

import io.grpc.testing.integration.InternalSoakClientAccessor;
import io.grpc.testing.integration.TestCases;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one of grpc's interop cases by name, calling the same {@code AbstractInteropTest} methods
 * and soak loop that grpc-java's TestServiceClient calls for it.
 *
 * <p>Thread-safe (stateless).
 */
final class CaseRunner {
  /**
   * What {@code --test_case=all} runs: every case of TestServiceClient 1.79.0 that needs no cloud
   * credentials, ORCA load balancing or multiple backends. The compressed client cases use their
   * no-probe variants, as grpc-java's TestServiceImpl lacks the probe.
   */
  static final List<TestCases> ALL =
      List.of(
          EMPTY_UNARY,
          LARGE_UNARY,
          CLIENT_STREAMING,
          SERVER_STREAMING,
          PING_PONG,
          EMPTY_STREAM,
          CANCEL_AFTER_BEGIN,
          CANCEL_AFTER_FIRST_RESPONSE,
          TIMEOUT_ON_SLEEPING_SERVER,
          CUSTOM_METADATA,
          STATUS_CODE_AND_MESSAGE,
          SPECIAL_STATUS_MESSAGE,
          UNIMPLEMENTED_METHOD,
          UNIMPLEMENTED_SERVICE,
          CLIENT_COMPRESSED_UNARY_NOPROBE,
          CLIENT_COMPRESSED_STREAMING_NOPROBE,
          SERVER_COMPRESSED_UNARY,
          SERVER_COMPRESSED_STREAMING,
          VERY_LARGE_REQUEST,
          RPC_SOAK,
          CHANNEL_SOAK);

  static final List<String> ALL_NAMES = ALL.stream().map(TestCases::toString).toList();

  private CaseRunner() {}

  /** Parses {@code all}, one name or a comma list; refuses a case this runner cannot run. */
  static List<TestCases> parse(String spec) {
    if (spec.equals("all")) {
      return ALL;
    }
    List<TestCases> cases = new ArrayList<>();
    for (String name : spec.split(",", -1)) {
      TestCases testCase;
      try {
        testCase = TestCases.fromString(name.trim());
      } catch (IllegalArgumentException e) {
        throw new Flags.UsageException("unknown test case " + name);
      }
      if (!ALL.contains(testCase)
          && testCase != TestCases.CLIENT_COMPRESSED_UNARY
          && testCase != TestCases.CLIENT_COMPRESSED_STREAMING) {
        throw new Flags.UsageException(
            "test case " + testCase + " needs what this runner does not set up"
                + " (cloud credentials, ORCA or several backends); use grpc-java's"
                + " TestServiceClient for it");
      }
      cases.add(testCase);
    }
    return cases;
  }

  /** Runs {@code testCase} on a tester between its setUp and tearDown. */
  static void run(TestCases testCase, InteropTester tester, ClientConfig config) throws Exception {
    switch (testCase) {
      case EMPTY_UNARY -> tester.emptyUnary();
      case LARGE_UNARY -> tester.largeUnary();
      case CLIENT_STREAMING -> tester.clientStreaming();
      case SERVER_STREAMING -> tester.serverStreaming();
      case PING_PONG -> tester.pingPong();
      case EMPTY_STREAM -> tester.emptyStream();
      case CANCEL_AFTER_BEGIN -> tester.cancelAfterBegin();
      case CANCEL_AFTER_FIRST_RESPONSE -> tester.cancelAfterFirstResponse();
      case TIMEOUT_ON_SLEEPING_SERVER -> tester.timeoutOnSleepingServer();
      case CUSTOM_METADATA -> tester.customMetadata();
      case STATUS_CODE_AND_MESSAGE -> tester.statusCodeAndMessage();
      case SPECIAL_STATUS_MESSAGE -> tester.specialStatusMessage();
      case UNIMPLEMENTED_METHOD -> tester.unimplementedMethod();
      case UNIMPLEMENTED_SERVICE -> tester.unimplementedService();
      case CLIENT_COMPRESSED_UNARY -> tester.clientCompressedUnary(true);
      case CLIENT_COMPRESSED_UNARY_NOPROBE -> tester.clientCompressedUnary(false);
      case CLIENT_COMPRESSED_STREAMING -> tester.clientCompressedStreaming(true);
      case CLIENT_COMPRESSED_STREAMING_NOPROBE -> tester.clientCompressedStreaming(false);
      case SERVER_COMPRESSED_UNARY -> tester.serverCompressedUnary();
      case SERVER_COMPRESSED_STREAMING -> tester.serverCompressedStreaming();
      case VERY_LARGE_REQUEST -> tester.veryLargeRequest();
      case RPC_SOAK -> soak(tester, config, false);
      case CHANNEL_SOAK -> soak(tester, config, true);
      default -> throw new IllegalArgumentException("not runnable here: " + testCase);
    }
  }

  /** Seconds a case may take before it counts as hung; soak cases get their own budget. */
  static long timeoutSeconds(TestCases testCase, ClientConfig config) {
    boolean soak = testCase == RPC_SOAK || testCase == CHANNEL_SOAK;
    // 90 s is AbstractInteropTest's own per-test timeout under JUnit.
    return soak ? config.soakOverallTimeoutSeconds + 30L : 90L;
  }

  private static void soak(InteropTester tester, ClientConfig config, boolean newChannelEachRpc)
      throws InterruptedException {
    InternalSoakClientAccessor.performSoakTest(
        config.target(),
        config.soakIterations,
        config.soakMaxFailures,
        config.soakMaxLatencyMs,
        config.soakMinTimeMsBetweenRpcs,
        config.soakOverallTimeoutSeconds,
        config.soakRequestSize,
        config.soakResponseSize,
        config.soakThreads,
        tester.newChannel(),
        newChannelEachRpc ? tester::replaceChannel : channel -> channel);
  }
}
