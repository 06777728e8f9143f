package dev.grpclean.bench.jmh;

import dev.grpclean.bench.BenchService;
import dev.grpclean.bench.Transport;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * A server and one channel of the chosen transport over loopback in this JVM, serving
 * {@link BenchService}: client and server costs are measured together.
 *
 * <p>Shared by the benchmark threads; set up and torn down by JMH.
 */
@State(Scope.Benchmark)
public class LoopbackState {
  @Param({"lean", "netty"})
  public String transport;

  Server server;
  ManagedChannel channel;

  @Setup(Level.Trial)
  public void start() throws IOException {
    Transport t = Transport.parse(transport);
    server = t.serverBuilder().addService(BenchService.definition()).build().start();
    channel = t.channel("127.0.0.1", server.getPort());
  }

  @TearDown(Level.Trial)
  public void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
