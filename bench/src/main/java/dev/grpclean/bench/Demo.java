package dev.grpclean.bench;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import dev.grpclean.transport.LeanTransportStats;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * The one-command demo: a lean server and a lean client in one process, a few RPCs, and the
 * buffer pool's counters before, during and after, so the idle-memory property is visible.
 */
public final class Demo {
  private static final MethodDescriptor.Marshaller<String> UTF8 =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
          return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
          try {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  private static final MethodDescriptor<String, String> GREET =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("demo.Greeter/Greet")
          .setRequestMarshaller(UTF8).setResponseMarshaller(UTF8).build();

  private static final MethodDescriptor<String, String> COUNT =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
          .setFullMethodName("demo.Greeter/Count")
          .setRequestMarshaller(UTF8).setResponseMarshaller(UTF8).build();

  private Demo() {}

  public static void main(String[] args) throws Exception {
    ServerServiceDefinition service = ServerServiceDefinition.builder("demo.Greeter")
        .addMethod(GREET, ServerCalls.asyncUnaryCall(
            (String name, StreamObserver<String> out) -> {
              out.onNext("hello, " + name);
              out.onCompleted();
            }))
        .addMethod(COUNT, ServerCalls.asyncServerStreamingCall(
            (String n, StreamObserver<String> out) -> {
              for (int i = 1; i <= Integer.parseInt(n); i++) {
                out.onNext("message " + i + " " + "x".repeat(100_000));
              }
              out.onCompleted();
            }))
        .build();
    Server server = LeanServerBuilder.forPort(0).addService(service).build().start();
    System.out.println("lean server listening on port " + server.getPort());
    ManagedChannel channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().build();
    try {
      System.out.println("pools before any RPC : " + LeanTransportStats.describe());
      CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);
      for (String name : new String[] {"alice", "bob", "carol"}) {
        System.out.println("Greet(" + name + ") -> "
            + ClientCalls.blockingUnaryCall(channel, GREET, options, name));
      }
      Iterator<String> it = ClientCalls.blockingServerStreamingCall(channel, COUNT, options, "20");
      long bytes = 0;
      int messages = 0;
      while (it.hasNext()) {
        bytes += it.next().length();
        messages++;
      }
      System.out.println("Count(20) -> " + messages + " messages, " + bytes + " bytes");
      System.out.println("pools after the RPCs : " + LeanTransportStats.describe());
      System.out.println("leased bytes while the connection sits idle: "
          + awaitIdleLeasedBytes() + " (the connection is still open)");
    } finally {
      channel.shutdown().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdown().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** The last write's lease returns just after its bytes hit the socket: wait briefly for it. */
  private static long awaitIdleLeasedBytes() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (LeanTransportStats.leasedBytes() != 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    return LeanTransportStats.leasedBytes();
  }
}
