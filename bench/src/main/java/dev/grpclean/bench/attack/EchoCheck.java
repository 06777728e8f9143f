package dev.grpclean.bench.attack;

import io.netty.handler.codec.http2.Http2Settings;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * One ordinary unary Echo call on a fresh raw connection: does the server still serve after an
 * attack? Also warms the server's call path before the first baseline.
 *
 * <p>Thread-safe (stateless); each check is confined to its caller's thread.
 */
public final class EchoCheck {
  private static final byte[] PING = "still there?".getBytes(StandardCharsets.UTF_8);

  private EchoCheck() {}

  /** What one check found. Immutable. */
  public static final class Result {
    /** Null when the call succeeded; otherwise what happened instead. */
    public final String failure;
    /** From connect to the call's status (or to the give-up). */
    public final long millis;

    Result(String failure, long millis) {
      this.failure = failure;
      this.millis = millis;
    }
  }

  /** One Echo call, bounded by {@code timeout}. */
  public static Result call(InetSocketAddress server, Duration timeout) {
    try (Wire wire = new Wire(server)) {
      RawConnection c = wire.connect();
      c.startHandshake(new Http2Settings());
      c.send(c.frames.headers(1, Attack.echoRequest(), false)
          .data(1, Frames.grpcMessage(PING), true).take());
      ServerAnswer a = c.answer;
      boolean answered = wire.pollUntil(() -> a.grpcOk > 0 || a.closed()
          || !a.statuses.isEmpty() || !a.rstStreams.isEmpty(),
          wire.startNanos + timeout.toNanos());
      long millis = wire.elapsedMillis();
      if (a.grpcOk > 0) {
        return new Result(null, millis);
      }
      if (!answered) {
        return new Result("no answer within " + timeout.toSeconds() + " s", millis);
      }
      String what = Outcome.describe(a);
      return new Result(a.closed() ? what + ", then " + Outcome.closeLabel(a) : what, millis);
    }
  }
}
