package dev.grpclean.transport;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;

/**
 * A lean peer in a JVM of its own, for {@link KilledPeerProcessTest}, which kills it mid-stream.
 *
 * <ul>
 *   <li>{@code server}: a lean server on a free loopback port whose {@link
 *       FaultFixtures#DOWNLOAD} streams messages for as long as the call lasts; prints {@code
 *       PORT <n>} once listening.
 *   <li>{@code client <port>}: a lean channel to {@code 127.0.0.1:<port>} streaming {@link
 *       FaultFixtures#UPLOAD} messages for as long as the call lasts.
 * </ul>
 *
 * <p>Both send only while their call is ready, and exit when standard input reaches its end, so
 * a test that dies without killing the peer still leaves no process behind. The main thread only
 * waits on standard input; the streaming runs on grpc-core's threads.
 */
public final class FaultPeerMain {
  /** Bytes of each streamed message. */
  static final int MESSAGE_BYTES = 16 * 1024;
  /** The line prefix by which the server mode announces its port. */
  static final String PORT_LINE = "PORT ";

  private FaultPeerMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && args[0].equals("server")) {
      Server server = LeanServerBuilder.forPort(0).addService(endlessDownload()).build().start();
      System.out.println(PORT_LINE + server.getPort());
      System.out.flush();
    } else if (args.length == 2 && args[0].equals("client")) {
      ManagedChannel channel = LeanChannelBuilder
          .forAddress("127.0.0.1", Integer.parseInt(args[1])).usePlaintext().build();
      ClientCalls.asyncClientStreamingCall(
          channel.newCall(FaultFixtures.UPLOAD, CallOptions.DEFAULT), endlessUpload());
    } else {
      System.err.println("usage: FaultPeerMain server | client <port>");
      System.exit(2);
    }
    while (System.in.read() != -1) {
      // Wait for the parent to go away (or to kill us first).
    }
    System.exit(0);
  }

  private static ServerServiceDefinition endlessDownload() {
    return ServerServiceDefinition.builder(FaultFixtures.SERVICE)
        .addMethod(FaultFixtures.DOWNLOAD, ServerCalls.asyncServerStreamingCall(
            (request, responses) -> {
              ServerCallStreamObserver<byte[]> call =
                  (ServerCallStreamObserver<byte[]>) responses;
              byte[] message = new byte[MESSAGE_BYTES];
              call.setOnCancelHandler(() -> {});
              // Runs on the call's serialized executor, each time the call turns ready.
              call.setOnReadyHandler(() -> {
                while (call.isReady() && !call.isCancelled()) {
                  call.onNext(message);
                }
              });
            }))
        .build();
  }

  private static ClientResponseObserver<byte[], byte[]> endlessUpload() {
    return new ClientResponseObserver<byte[], byte[]>() {
      private volatile boolean done;

      @Override
      public void beforeStart(ClientCallStreamObserver<byte[]> requests) {
        byte[] message = new byte[MESSAGE_BYTES];
        // Runs on the call's serialized executor, each time the call turns ready.
        requests.setOnReadyHandler(() -> {
          while (requests.isReady() && !done) {
            requests.onNext(message);
          }
        });
      }

      @Override
      public void onNext(byte[] value) {}

      @Override
      public void onError(Throwable t) {
        done = true;
        System.err.println("upload ended: " + t);
      }

      @Override
      public void onCompleted() {
        done = true;
      }
    };
  }
}
