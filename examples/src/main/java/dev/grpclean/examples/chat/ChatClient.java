package dev.grpclean.examples.chat;

import dev.grpclean.transport.LeanChannelBuilder;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Joins the chat room, says each line given, prints everything the room says (its own lines and
 * other members') until its own lines have come back, then leaves.
 *
 * <p>Usage: {@code ChatClient host:port name line...}
 */
public final class ChatClient {
  private ChatClient() {}

  public static void main(String[] args) throws Exception {
    String target = args[0];
    String name = args[1];
    List<String> said = new ArrayList<>();
    for (String line : Arrays.asList(args).subList(2, args.length)) {
      said.add(name + ": " + line);
    }
    ManagedChannel channel = LeanChannelBuilder.forTarget(target)
        .usePlaintext()
        .build();
    try {
      CountDownLatch ownLinesBack = new CountDownLatch(said.size());
      CompletableFuture<Void> left = new CompletableFuture<>();
      ClientCall<String, String> call = channel.newCall(
          ChatRoom.TALK, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS));
      StreamObserver<String> room = ClientCalls.asyncBidiStreamingCall(call,
          new StreamObserver<String>() {
            @Override
            public void onNext(String line) {
              System.out.println("> " + line);
              if (said.contains(line)) {
                ownLinesBack.countDown();
              }
            }

            @Override
            public void onError(Throwable t) {
              left.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
              left.complete(null);
            }
          });
      for (String line : said) {
        room.onNext(line);
      }
      if (!ownLinesBack.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the room did not repeat our lines");
      }
      room.onCompleted();
      left.get(30, TimeUnit.SECONDS);
      System.out.println(name + " left");
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
