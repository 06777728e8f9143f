package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import dev.grpclean.bench.BenchService;
import dev.grpclean.bench.Security;
import dev.grpclean.bench.Transport;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The client side of a run: opens channels of the chosen transport and security (credentials
 * built once, shared by every channel) to the server's port and
 * runs the workloads the parent asks for. Channels live until {@code quit}, so idle ones can be
 * measured.
 *
 * <p>Confined to {@link ChildMain}'s thread; the workloads' callbacks run on gRPC's threads.
 */
final class ClientRole implements ChildMain.Role {
  /** Bytes of the RPC each idle channel makes: small, like a health check. */
  static final int SMALL_PAYLOAD_BYTES = 100;
  /** Channels opening at once during {@code idle}: enough to be quick, few enough for backlogs. */
  private static final int OPENING_AT_ONCE = 64;
  private static final long RPC_DEADLINE_SECONDS = 60;

  private final Transport transport;
  private final Security security;
  private final ChannelCredentials creds;
  private final String host;
  private final int port;
  private final Probe probe;
  private final AllocationMeter meter = new AllocationMeter();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private TrickleLoad trickle;
  private RawIdleClients raw;

  ClientRole(Transport transport, Security security, Path keys, String host, int port)
      throws Exception {
    if (!security.supports(transport)) {
      throw new IllegalArgumentException(transport.id() + " does not support --security "
          + security.id());
    }
    this.transport = transport;
    this.security = security;
    this.creds = security.channelCredentials(keys);
    this.host = host;
    this.port = port;
    this.probe = new Probe(transport);
  }

  @Override
  public JsonObject handle(String verb, Map<String, String> args) throws Exception {
    switch (verb) {
      case "ready": {
        JsonObject o = new JsonObject();
        o.addProperty("pid", ProcessHandle.current().pid());
        return o;
      }
      case "snapshot":
        return probe.snapshot(!"false".equals(args.get("gc")));
      case "mark":
        meter.mark();
        return new JsonObject();
      case "counters":
        return meter.sinceMark();
      case "warm":
        return warm();
      case "channels":
      case "idle":
        return openChannels(Integer.parseInt(args.get("n")),
            Integer.parseInt(args.getOrDefault("bytes", String.valueOf(SMALL_PAYLOAD_BYTES))));
      case "rawidle":
        if (raw == null) {
          raw = new RawIdleClients(host, port);
        }
        return raw.open(Integer.parseInt(args.get("n")));
      case "unary":
        return new UnaryLoad(channels(), meter, args).run();
      case "download":
        return new DownloadLoad(channels(), meter, probe, args).run();
      case "trickle":
        if (trickle == null) {
          trickle = new TrickleLoad(host, port, security);
        }
        return trickle.run(args);
      default:
        throw new IllegalArgumentException("the client does not know '" + verb + "'");
    }
  }

  /** One channel, a few RPCs, closed: loads and initialises the transport before baselines. */
  private JsonObject warm() throws InterruptedException {
    ManagedChannel channel = newChannel();
    try {
      for (int i = 0; i < 20; i++) {
        call(channel);
      }
    } finally {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    return new JsonObject();
  }

  /**
   * Opens {@code n} more channels, each making one RPC of {@code bytes} each way so its
   * connection is up (and, with a large one, its buffers have carried real records).
   */
  private JsonObject openChannels(int n, int bytes) throws InterruptedException {
    long start = System.nanoTime();
    Semaphore opening = new Semaphore(OPENING_AT_ONCE);
    CountDownLatch done = new CountDownLatch(n);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int i = 0; i < n && failure.get() == null; i++) {
      opening.acquire();
      ManagedChannel channel = newChannel();
      channels.add(channel);
      ClientCalls.asyncUnaryCall(
          channel.newCall(BenchService.ECHO,
              CallOptions.DEFAULT.withDeadlineAfter(RPC_DEADLINE_SECONDS, TimeUnit.SECONDS)),
          BenchService.constant(bytes),
          new StreamObserver<>() {
            @Override
            public void onNext(dev.grpclean.bench.Blob value) {}

            @Override
            public void onError(Throwable t) {
              failure.compareAndSet(null, t);
              opening.release();
              done.countDown();
            }

            @Override
            public void onCompleted() {
              opening.release();
              done.countDown();
            }
          });
    }
    if (failure.get() == null && !done.await(RPC_DEADLINE_SECONDS + 5, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the first RPCs of " + n + " channels did not finish");
    }
    if (failure.get() != null) {
      throw unreachable(failure.get());
    }
    JsonObject o = new JsonObject();
    o.addProperty("channels", channels.size());
    o.addProperty("openMillis", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    return o;
  }

  private void call(ManagedChannel channel) {
    try {
      ClientCalls.blockingUnaryCall(channel, BenchService.ECHO,
          CallOptions.DEFAULT.withDeadlineAfter(RPC_DEADLINE_SECONDS, TimeUnit.SECONDS),
          BenchService.constant(SMALL_PAYLOAD_BYTES));
    } catch (RuntimeException e) {
      throw unreachable(e);
    }
  }

  private ManagedChannel newChannel() {
    return transport.channel(host, port, creds, security.authorityOverride());
  }

  private List<ManagedChannel> channels() {
    if (channels.isEmpty()) {
      channels.add(newChannel());
    }
    return channels;
  }

  /** Names the address when the server cannot be reached, so the report says what failed. */
  private RuntimeException unreachable(Throwable t) {
    Status status = Status.fromThrowable(t);
    if (status.getCode() == Status.Code.UNAVAILABLE) {
      return new IllegalStateException("cannot reach the server at " + host + ":" + port + ": "
          + status.getCode() + ": " + status.getDescription(), t);
    }
    return new IllegalStateException(
        "RPC failed: " + status.getCode() + ": " + status.getDescription(), t);
  }

  @Override
  public void close() {
    if (trickle != null) {
      trickle.close();
    }
    if (raw != null) {
      raw.close();
    }
    for (ManagedChannel channel : channels) {
      channel.shutdownNow();
    }
    for (ManagedChannel channel : channels) {
      try {
        channel.awaitTermination(1, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
