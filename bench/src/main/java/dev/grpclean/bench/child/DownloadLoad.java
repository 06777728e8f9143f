package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import dev.grpclean.bench.Blob;
import dev.grpclean.bench.BenchService;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Downloads on every open channel at once: each channel asks for {@code totalBytes} in messages
 * of {@code messageBytes}, and asks again when the stream ends, until {@code durationMs} is over;
 * then open streams are cancelled. With {@code sampleMs > 0} a {@link MemorySampler} samples
 * in-use memory (heap used + direct used, no GC: the figure grpc-go's download client reports)
 * and retained memory (heap after the latest collection + direct) at that period.
 *
 * <p>Thread-safe: streams run on gRPC's callback threads, the sampler on its own.
 */
final class DownloadLoad {
  private final List<ManagedChannel> channels;
  private final AllocationMeter meter;
  private final Probe probe;
  private final long totalBytes;
  private final int messageBytes;
  private final long durationNanos;
  private final long sampleMillis;
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong messages = new AtomicLong();
  private final AtomicLong streamsCompleted = new AtomicLong();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final Map<ClientCallStreamObserver<Blob>, Boolean> open = new ConcurrentHashMap<>();
  private final CountDownLatch lanesDone;
  private volatile boolean over;

  DownloadLoad(List<ManagedChannel> channels, AllocationMeter meter, Probe probe,
      Map<String, String> args) {
    this.channels = channels;
    this.meter = meter;
    this.probe = probe;
    this.totalBytes = Long.parseLong(args.getOrDefault("totalBytes", String.valueOf(64 << 20)));
    this.messageBytes = Integer.parseInt(args.getOrDefault("messageBytes", String.valueOf(1 << 20)));
    this.durationNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(args.get("durationMs")));
    this.sampleMillis = Long.parseLong(args.getOrDefault("sampleMs", "0"));
    this.lanesDone = new CountDownLatch(channels.size());
  }

  JsonObject run() throws InterruptedException {
    JsonObject memory = null;
    MemorySampler sampler = sampleMillis > 0 ? new MemorySampler(probe) : null;
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bench-download-timer");
      t.setDaemon(true);
      return t;
    });
    meter.mark();
    long start = System.nanoTime();
    try {
      if (sampler != null) {
        sampler.start(sampleMillis);
      }
      timer.schedule(this::stop, durationNanos, TimeUnit.NANOSECONDS);
      for (ManagedChannel channel : channels) {
        next(channel);
      }
      if (!lanesDone.await(durationNanos + TimeUnit.SECONDS.toNanos(60), TimeUnit.NANOSECONDS)) {
        throw new IllegalStateException("downloads did not end a minute after the window");
      }
    } finally {
      timer.shutdownNow();
      if (sampler != null) {
        memory = sampler.stop();
      }
    }
    long elapsed = Math.min(System.nanoTime() - start, durationNanos);
    JsonObject o = meter.sinceMark();
    if (failure.get() != null) {
      throw new IllegalStateException("download failed: " + failure.get(), failure.get());
    }
    o.addProperty("bytes", bytes.get());
    o.addProperty("messages", messages.get());
    o.addProperty("streamsCompleted", streamsCompleted.get());
    o.addProperty("seconds", elapsed / 1e9);
    o.addProperty("mibPerSecond", bytes.get() / (double) (1 << 20) / (elapsed / 1e9));
    if (memory != null) {
      for (String key : memory.keySet()) {
        o.add(key, memory.get(key));
      }
    }
    o.addProperty("rssEnd", Probe.rssBytes());
    return o;
  }

  private void stop() {
    over = true;
    for (ClientCallStreamObserver<Blob> call : open.keySet()) {
      call.cancel("the measured window is over", null);
    }
  }

  private void next(ManagedChannel channel) {
    if (over || failure.get() != null) {
      lanesDone.countDown();
      return;
    }
    ClientCalls.asyncServerStreamingCall(
        channel.newCall(BenchService.DOWNLOAD, CallOptions.DEFAULT),
        BenchService.downloadRequest(totalBytes, messageBytes),
        new ClientResponseObserver<Blob, Blob>() {
          ClientCallStreamObserver<Blob> call;

          @Override
          public void beforeStart(ClientCallStreamObserver<Blob> requestStream) {
            call = requestStream;
            open.put(call, Boolean.TRUE);
            if (over) {
              call.cancel("the measured window is over", null);
            }
          }

          @Override
          public void onNext(Blob value) {
            if (!over) {
              bytes.addAndGet(value.length());
              messages.incrementAndGet();
            }
          }

          @Override
          public void onError(Throwable t) {
            open.remove(call);
            if (!over) {
              failure.compareAndSet(null, t);
            }
            lanesDone.countDown();
          }

          @Override
          public void onCompleted() {
            open.remove(call);
            streamsCompleted.incrementAndGet();
            next(channel);
          }
        });
  }
}
