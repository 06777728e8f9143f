package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.LeanConnectionStats.Figure;
import dev.grpclean.transport.LeanConnectionStats.Histogram;
import dev.grpclean.transport.testing.ByteMethods;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * Per-stream summaries over a real server and channel: once the connection is busy, every ended
 * unary stream is folded in on both sides with its exact DATA bytes (a 1000-byte message is 1005
 * bytes of DATA payload with gRPC's 5-byte prefix), and a channel built with counters off reports
 * none.
 */
public class StreamSummariesEndToEndTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final MethodDescriptor<byte[], byte[]> ECHO =
      ByteMethods.method(MethodType.UNARY, "test.Summaries", "Echo");
  private static final int CALLS = 100;
  private static final long DATA_BYTES = 1000 + 5;

  @Test
  public void everyEndedStreamIsFoldedWithItsBytes() throws Exception {
    LeanServerBuilder serverBuilder = LeanServerBuilder.forPort(0);
    Server server = serverBuilder.addService(ServerServiceDefinition.builder("test.Summaries")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((req, out) -> {
          out.onNext(req);
          out.onCompleted();
        })).build()).build().start();
    LeanChannelBuilder on = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext();
    LeanChannelBuilder off = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().connectionCounters(false);
    ManagedChannel channel = on.build();
    ManagedChannel quiet = off.build();
    try {
      for (int i = 0; i < CALLS; i++) {
        ClientCalls.blockingUnaryCall(channel, ECHO,
            CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), new byte[1000]);
        ClientCalls.blockingUnaryCall(quiet, ECHO,
            CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), new byte[1000]);
      }
      for (ConnectionStatsGroup side : new ConnectionStatsGroup[] {
          on.connectionStats(), serverBuilder.connectionStats()}) {
        LeanConnectionStats s = side.snapshot();
        long ended = s.get(Figure.ENDED_STREAMS);
        assertTrue(s.toString(), ended > 0 && ended <= (side == on.connectionStats() ? CALLS
            : 2 * CALLS));
        assertEquals(DATA_BYTES, s.get(Figure.ENDED_STREAM_BYTES_SENT_MAX));
        assertEquals(DATA_BYTES, s.get(Figure.ENDED_STREAM_BYTES_RECEIVED_MAX));
        long bucket = LeanConnectionStats.bucketOf(DATA_BYTES);
        assertEquals(ended, s.histogramBucket(Histogram.STREAM_BYTES_SENT, (int) bucket));
        assertEquals(ended, s.histogramBucket(Histogram.STREAM_BYTES_RECEIVED, (int) bucket));
        assertEquals("a 1 MiB window never blocks a 1 KiB message", 0,
            s.get(Figure.ENDED_STREAMS_BLOCKED_ON_WINDOW));
        assertEquals(ended, s.histogramCount(Histogram.STREAM_QUEUED_NANOS));
      }
      assertEquals(0, off.connectionStats().snapshot().get(Figure.ENDED_STREAMS));
    } finally {
      channel.shutdownNow();
      quiet.shutdownNow();
      server.shutdownNow();
      assertTrue(channel.awaitTermination(10, TimeUnit.SECONDS));
      assertTrue(quiet.awaitTermination(10, TimeUnit.SECONDS));
      assertTrue(server.awaitTermination(10, TimeUnit.SECONDS));
    }
  }
}
