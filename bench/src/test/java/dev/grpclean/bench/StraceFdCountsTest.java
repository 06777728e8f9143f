package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;

import dev.grpclean.bench.StraceFdCounts.Kind;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** strace {@code -f -y} lines to read/write calls by descriptor kind, on recorded lines. */
public class StraceFdCountsTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);

  private static StraceFdCounts count(String... lines) {
    StraceFdCounts c = new StraceFdCounts();
    for (String line : lines) {
      c.accept(line);
    }
    return c;
  }

  @Test
  public void socketEventfdPipeAndFileCallsAreToldApart() {
    StraceFdCounts c = count(
        "[pid 81250] read(42<socket:[2745071]>, \"\"..., 65536) = 252",
        "[pid 81250] read(42<socket:[2745071]>, 0x7f3c, 65536) = -1 EAGAIN (Resource "
            + "temporarily unavailable)",
        "[pid 81250] write(42<socket:[2745071]>, \"\"..., 126) = 126",
        "[pid 81263] writev(42<socket:[2745071]>, [{iov_base=\"\"..., iov_len=40}], 2) = 80",
        "[pid 81263] recvfrom(43<socket:[2745072]>, \"\"..., 2048, 0, NULL, NULL) = 120",
        "[pid 81263] sendto(43<socket:[2745072]>, \"\"..., 120, 0, NULL, 0) = 120",
        "[pid 81251] write(17<anon_inode:[eventfd]>, \"\"..., 8) = 8",
        "[pid 81250] read(17<anon_inode:[eventfd]>, \"\"..., 128) = 8",
        "[pid 81240] read(0<pipe:[2744873]>, \"\"..., 8192) = 17",
        "[pid 81240] read(55</proc/81240/task/81250/status>, \"\"..., 8192) = 1320",
        "[pid 81240] openat(AT_FDCWD</work>, \"/proc/self/io\", O_RDONLY) = 55",
        "[pid 81250] epoll_wait(15<anon_inode:[eventpoll]>, [], 1024, 0) = 0",
        "[pid 81250] futex(0x7f3c, FUTEX_WAKE_PRIVATE, 1) = 0");
    assertEquals(3, c.reads(Kind.SOCKET));
    assertEquals(1, c.failedReads(Kind.SOCKET));
    assertEquals(3, c.writes(Kind.SOCKET));
    assertEquals(2, c.reads(Kind.WAKEUP));
    assertEquals(1, c.writes(Kind.WAKEUP));
    assertEquals(1, c.reads(Kind.OTHER));
    assertEquals(0, c.writes(Kind.OTHER));
  }

  @Test
  public void aSplitCallCountsOnceWithItsResultFromTheResumedHalf() {
    StraceFdCounts c = count(
        "[pid 81250] read(42<socket:[2745071]>,  <unfinished ...>",
        "[pid 81251] write(17<anon_inode:[eventfd]>, \"\"..., 8) = 8",
        "[pid 81250] <... read resumed>0x7f3c, 65536) = -1 EAGAIN (Resource temporarily "
            + "unavailable)",
        "[pid 81252] write(42<socket:[2745071]>, \"\"..., 126 <unfinished ...>",
        "[pid 81252] <... write resumed>) = 126",
        // A resumed half with no first half (strace attached mid-call) counts nothing.
        "[pid 81253] <... read resumed>0x7f3c, 65536) = -1 EAGAIN (Resource temporarily "
            + "unavailable)");
    assertEquals(1, c.reads(Kind.SOCKET));
    assertEquals(1, c.failedReads(Kind.SOCKET));
    assertEquals(1, c.writes(Kind.SOCKET));
    assertEquals(1, c.writes(Kind.WAKEUP));
  }

  @Test
  public void recordedFileOutputWithBarePids() {
    // strace -f -C -y -s 0 -o FILE over a socketpair: one thread sends, the other reads twice.
    StraceFdCounts c = count(
        "22395 sendto(4<socket:[3903768]>, \"\"..., 1, 0, NULL, 0 <unfinished ...>",
        "22097 close(255</root/.pyenv/libexec/pyenv> <unfinished ...>",
        "22395 <... sendto resumed>)             = 1",
        "22097 recvfrom(3<socket:[3903767]>, \"\"..., 10, 0, NULL, NULL) = 1",
        "22097 recvfrom(3<socket:[3903767]>,  <unfinished ...>",
        "22097 <... recvfrom resumed>0x7f7f75f128d0, 10, 0, NULL, NULL) = -1 EAGAIN (Resource "
            + "temporarily unavailable)",
        "22097 read(3<pipe:[3898887]>,  <unfinished ...>");
    assertEquals(2, c.reads(Kind.SOCKET));
    assertEquals(1, c.failedReads(Kind.SOCKET));
    assertEquals(1, c.writes(Kind.SOCKET));
    assertEquals(1, c.reads(Kind.WAKEUP));
  }

  @Test
  public void aSingleThreadedTraceHasNoPidPrefix() {
    StraceFdCounts c = count("read(3<socket:[1]>, \"\"..., 10) = 10",
        "sendmsg(3<TCP:[127.0.0.1:1->127.0.0.1:2]>, {msg_name=NULL}, 0) = 5");
    assertEquals(1, c.reads(Kind.SOCKET));
    assertEquals(1, c.writes(Kind.SOCKET));
  }

  @Test
  public void signalsExitsAndMessagesAreNotCalls() {
    StraceFdCounts c = count("[pid 81250] --- SIGSEGV {si_signo=SIGSEGV} ---",
        "[pid 81250] +++ exited with 0 +++", "strace: Process 81250 detached", "");
    for (Kind k : Kind.values()) {
      assertEquals(0, c.reads(k) + c.writes(k));
    }
  }
}
