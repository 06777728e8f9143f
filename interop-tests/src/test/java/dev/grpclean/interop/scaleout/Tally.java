package dev.grpclean.interop.scaleout;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a client saw: replies per backend and failures per status code.
 *
 * <p>Thread-safe (atomic counters), so load threads share one.
 */
final class Tally {
  /** Deadline of one call: far beyond any wait in the tests, so it fires only if stuck. */
  static final long CALL_DEADLINE_SECONDS = 20;

  private final AtomicIntegerArray replies;
  private final Map<Status.Code, LongAdder> failures = new ConcurrentHashMap<>();

  Tally(int backends) {
    replies = new AtomicIntegerArray(backends);
  }

  /** Makes one call and records its outcome; returns the backend that answered, or -1. */
  int call(Channel channel) {
    try {
      byte[] reply =
          ClientCalls.blockingUnaryCall(
              channel,
              Backend.CALL,
              CallOptions.DEFAULT.withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS),
              new byte[] {1});
      replies.incrementAndGet(reply[0]);
      return reply[0];
    } catch (StatusRuntimeException e) {
      failures.computeIfAbsent(e.getStatus().getCode(), c -> new LongAdder()).increment();
      return -1;
    }
  }

  /** Makes {@code calls} calls one after another. */
  Tally calls(Channel channel, int calls) {
    for (int i = 0; i < calls; i++) {
      call(channel);
    }
    return this;
  }

  int replies(int backend) {
    return replies.get(backend);
  }

  int[] replies() {
    int[] out = new int[replies.length()];
    for (int i = 0; i < out.length; i++) {
      out[i] = replies.get(i);
    }
    return out;
  }

  long failures() {
    return failures.values().stream().mapToLong(LongAdder::sum).sum();
  }

  Map<Status.Code, Long> failuresByCode() {
    Map<Status.Code, Long> out = new TreeMap<>();
    failures.forEach((code, n) -> out.put(code, n.sum()));
    return out;
  }

  @Override
  public String toString() {
    return "replies per backend " + Arrays.toString(replies()) + ", failures " + failuresByCode();
  }
}
