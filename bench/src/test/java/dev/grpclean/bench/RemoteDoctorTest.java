package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.ClientCalls;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The remote doctor's sampling over a JMX connection (here this JVM's own MBean server, which is
 * what {@code --pid} reaches in another JVM through the attach API): every lean server and
 * channel is found, sampled and given its verdicts, with the figures that moved.
 */
public class RemoteDoctorTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Test
  public void samplesEveryLeanServerAndChannelOverJmx() throws Exception {
    Server server = LeanServerBuilder.forPort(0).addService(BenchService.definition()).build()
        .start();
    ManagedChannel channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().build();
    // One call first: the connection is up (and the classes loaded) before the sample starts,
    // so a slow first connect on a loaded machine cannot leave the whole sample without traffic.
    ClientCalls.blockingUnaryCall(channel, BenchService.ECHO,
        CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), BenchService.constant(100));
    AtomicBoolean stop = new AtomicBoolean();
    Thread load = new Thread(() -> {
      while (!stop.get()) {
        ClientCalls.blockingUnaryCall(channel, BenchService.ECHO,
            CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS),
            BenchService.constant(100));
      }
    }, "remote-doctor-load");
    try {
      load.start();
      StringWriter text = new StringWriter();
      java.nio.file.Path chart = java.nio.file.Files.createTempFile("remote-doctor", ".png");
      assertTrue(RemoteDoctor.sample(ManagementFactory.getPlatformMBeanServer(), "this JVM", 0.5,
          true, chart, new PrintWriter(text)));
      assertTrue(javax.imageio.ImageIO.read(chart.toFile()) != null);
      java.nio.file.Files.delete(chart);
      JsonObject o = JsonParser.parseString(text.toString()).getAsJsonObject();
      assertEquals("this JVM", o.get("jvm").getAsString());
      JsonArray sides = o.getAsJsonArray("sides");
      boolean sawServer = false;
      boolean sawChannel = false;
      for (int i = 0; i < sides.size(); i++) {
        JsonObject side = sides.get(i).getAsJsonObject();
        String mbean = side.get("mbean").getAsString();
        long requests = side.getAsJsonObject("figures").get("BYTES_READ").getAsLong();
        sawServer |= mbean.contains("type=LeanServer") && requests > 0;
        // Channels share one MBean (type=LeanChannels) unless -Dgrpclean.channelMBeans=true.
        sawChannel |= mbean.contains("type=LeanChannels") && requests > 0;
        assertTrue(side.toString(), side.has("verdicts"));
      }
      assertTrue(text.toString(), sawServer && sawChannel);
    } finally {
      stop.set(true);
      load.join(TimeUnit.SECONDS.toMillis(30));
      channel.shutdownNow();
      server.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
