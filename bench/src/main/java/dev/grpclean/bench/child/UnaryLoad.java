package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import dev.grpclean.bench.Blob;
import dev.grpclean.bench.BenchService;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Closed-loop unary load: {@code concurrency} lanes, each sending its next Echo as soon as the
 * previous one completes, spread over the open channels, for {@code durationMs}. Latency goes
 * into an HdrHistogram; allocation and CPU are counted from the start of the window.
 *
 * <p>Arguments: {@code concurrency}, {@code payload} (bytes each way), {@code durationMs}.
 * Thread-safe: lanes run on gRPC's callback threads.
 */
final class UnaryLoad {
  /** Highest latency the histogram tracks exactly: a minute, in nanoseconds. */
  private static final long HIGHEST_TRACKABLE_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final List<ManagedChannel> channels;
  private final AllocationMeter meter;
  private final int concurrency;
  private final Blob payload;
  private final long durationNanos;
  private final Recorder recorder = new Recorder(HIGHEST_TRACKABLE_NANOS, 3);
  private final AtomicLong completed = new AtomicLong();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final CountDownLatch lanesDone;
  private volatile long deadlineNanos;

  UnaryLoad(List<ManagedChannel> channels, AllocationMeter meter, Map<String, String> args) {
    this.channels = channels;
    this.meter = meter;
    this.concurrency = Integer.parseInt(args.getOrDefault("concurrency", "64"));
    this.payload = BenchService.constant(Integer.parseInt(args.getOrDefault("payload", "100")));
    this.durationNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(args.get("durationMs")));
    this.lanesDone = new CountDownLatch(concurrency);
  }

  JsonObject run() throws InterruptedException {
    meter.mark();
    long start = System.nanoTime();
    deadlineNanos = start + durationNanos;
    for (int lane = 0; lane < concurrency; lane++) {
      next(channels.get(lane % channels.size()));
    }
    if (!lanesDone.await(durationNanos + TimeUnit.SECONDS.toNanos(60), TimeUnit.NANOSECONDS)) {
      throw new IllegalStateException("unary lanes did not finish a minute after the window");
    }
    long elapsed = System.nanoTime() - start;
    JsonObject o = meter.sinceMark();
    if (failure.get() != null) {
      throw new IllegalStateException("unary RPC failed: " + failure.get(), failure.get());
    }
    Histogram h = recorder.getIntervalHistogram();
    o.addProperty("rpcs", completed.get());
    o.addProperty("seconds", elapsed / 1e9);
    o.addProperty("qps", completed.get() / (elapsed / 1e9));
    o.addProperty("p50Micros", h.getValueAtPercentile(50) / 1e3);
    o.addProperty("p90Micros", h.getValueAtPercentile(90) / 1e3);
    o.addProperty("p99Micros", h.getValueAtPercentile(99) / 1e3);
    o.addProperty("p999Micros", h.getValueAtPercentile(99.9) / 1e3);
    o.addProperty("maxMicros", h.getMaxValue() / 1e3);
    o.addProperty("meanMicros", h.getMean() / 1e3);
    return o;
  }

  private void next(ManagedChannel channel) {
    if (failure.get() != null || System.nanoTime() - deadlineNanos >= 0) {
      lanesDone.countDown();
      return;
    }
    long start = System.nanoTime();
    ClientCalls.asyncUnaryCall(channel.newCall(BenchService.ECHO, CallOptions.DEFAULT), payload,
        new StreamObserver<>() {
          @Override
          public void onNext(Blob value) {}

          @Override
          public void onError(Throwable t) {
            failure.compareAndSet(null, t);
            lanesDone.countDown();
          }

          @Override
          public void onCompleted() {
            recorder.recordValue(Math.min(System.nanoTime() - start, HIGHEST_TRACKABLE_NANOS));
            completed.incrementAndGet();
            next(channel);
          }
        });
  }
}
