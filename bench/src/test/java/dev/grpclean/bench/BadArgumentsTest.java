package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** Bad arguments: a clear message and the usage on stderr, exit status 2, no stack trace. */
public class BadArgumentsTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private static final Path NOWHERE = Path.of("unused");

  @Test
  public void unknownScenario() {
    usageError("Unmatched argument at index 0: 'nap'", "nap");
  }

  @Test
  public void unknownTransport() {
    usageError("unknown transport 'grpc-go' (choose from lean, netty, okhttp, lean-nocounters,"
        + " lean-jdkserver, lean-conscryptserver, lean-jcakeys)",
        "compare", "idle", "--transports", "lean,grpc-go");
  }

  @Test
  public void nonPositiveConnections() {
    usageError("--connections must be positive, not 0", "idle", "--connections", "0");
  }

  @Test
  public void notANumber() {
    usageError("Invalid value for option '--connections'", "idle", "--connections", "many");
  }

  @Test
  public void compareWithoutScenario() {
    usageError("compare needs a scenario", "compare");
  }

  @Test
  public void unknownTlsProvider() {
    usageError("--tls-provider must be jdk or conscrypt, not 'openssl'", "idle",
        "--tls-provider", "openssl");
  }

  @Test
  public void unknownReferenceSecurityMode() {
    usageError("--reference-security must be insecure, tls or alts_like, not 'ssl'", "idle",
        "--security", "alts_like", "--reference-security", "ssl");
  }

  @Test
  public void negativeBaselineConnections() {
    usageError("--baseline-connections must not be negative", "idle",
        "--baseline-connections", "-1");
  }

  @Test
  public void unknownSecurityMode() {
    usageError("--security must be insecure, tls or alts_like, not 'ssl'", "unary",
        "--security", "ssl");
  }

  @Test
  public void unknownOption() {
    usageError("Unknown options: '--conections'", "idle", "--conections", "5");
  }

  @Test
  public void transportNamedTwice() {
    usageError("--transports names a transport twice", "idle", "--transports", "netty,netty");
  }

  @Test
  public void pendingBeyondTheMessage() {
    usageError("--pending-kib must be between 1 and 1023", "trickle", "--pending-kib", "2048");
  }

  @Test
  public void unknownAttack() {
    usageError("unknown attack 'syn-flood' (choose from all, rapid-reset, settings-flood",
        "attack", "--attacks", "rapid-reset,syn-flood");
  }

  @Test
  public void attackNamedTwice() {
    usageError("--attacks names ping-flood twice", "attack", "--attacks", "ping-flood,ping-flood");
  }

  @Test
  public void attackDurationOutOfRange() {
    usageError("--duration must be more than 0 and at most 60 seconds", "attack", "--duration",
        "0");
  }

  @Test
  public void attackWithoutConnections() {
    usageError("--connections must be positive, not -3", "attack", "--connections", "-3");
  }

  @Test
  public void straceModeRefusedWhenStraceIsMissing() {
    usageError("--syscalls strace needs strace, but '/nonexistent/strace' is not an executable "
        + "file: install it (e.g. apt-get install strace) or count with the default "
        + "--syscalls procfs", "unary", "--syscalls", "strace", "--strace", "/nonexistent/strace");
    usageError("--syscalls strace needs strace, but 'no-such-strace-binary' is not on PATH",
        "compare", "stream", "--syscalls", "strace", "--strace", "no-such-strace-binary");
  }

  @Test
  public void unknownSyscallCounter() {
    usageError("--syscalls must be procfs, preload or strace, not 'ebpf'", "unary", "--syscalls",
        "ebpf");
  }

  @Test
  public void preloadModeRefusedWithoutACompiler() {
    usageError("--syscalls preload compiles a small C library, but the C compiler "
        + "'/nonexistent/gcc' is not an executable file: install gcc (e.g. apt-get install gcc), "
        + "name another with --cc, or count with the default --syscalls procfs", "unary",
        "--syscalls", "preload", "--cc", "/nonexistent/gcc");
    usageError("the C compiler 'no-such-cc-binary' is not on PATH", "compare", "stream",
        "--syscalls", "preload", "--cc", "no-such-cc-binary");
  }

  @Test
  public void preloadModeOnlyWhereSyscallsAreReported() {
    usageError("--syscalls preload applies to unary, stream and large only, not download",
        "download", "--syscalls", "preload");
  }

  @Test
  public void straceModeOnlyWhereSyscallsAreReported() {
    usageError("--syscalls strace applies to unary, stream and large only, not idle", "idle",
        "--syscalls", "strace");
  }

  @Test
  public void helpIsNotAnError() {
    CliRun run = CliRun.raw(NOWHERE, "compare", "unary", "--help");
    assertEquals(0, run.exitCode);
    assertTrue(run.out, run.out.contains("--concurrency"));
    assertTrue(run.out, run.out.contains("--transports"));
    // The cheap default and what strace costs are in the help.
    String help = run.out.replaceAll("\\s+", " ");
    assertTrue(run.out, help.contains("--syscalls"));
    assertTrue(run.out, help.contains("procfs (the default"));
    assertTrue(run.out, help.contains("compare transports within it only"));
    assertTrue(run.out, help.contains("preload (also: a small library compiled with --cc"));
    assertTrue(run.out, help.contains("--cc=PATH"));
  }

  private static void usageError(String message, String... args) {
    CliRun run = CliRun.raw(NOWHERE, args);
    assertEquals(run.toString(), 2, run.exitCode);
    assertTrue(run.err, run.err.contains(message));
    assertTrue(run.err, run.err.contains("Usage:"));
    assertFalse(run.err, run.err.contains("\tat "));
    assertEquals("", run.out);
  }
}
