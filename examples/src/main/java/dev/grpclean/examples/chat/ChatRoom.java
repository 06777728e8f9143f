package dev.grpclean.examples.chat;

import dev.grpclean.examples.Utf8Marshaller;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A chat room over one bidirectional-streaming method: every line a member sends reaches every
 * member connected at that moment, the sender included. A member leaves by half-closing.
 *
 * <p>Thread-safe: members are a concurrent set; writes to one member's stream are serialized on
 * that stream (a gRPC stream observer takes one caller at a time).
 */
public final class ChatRoom {
  public static final MethodDescriptor<String, String> TALK =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
          .setFullMethodName("chat.ChatRoom/Talk")
          .setRequestMarshaller(Utf8Marshaller.INSTANCE)
          .setResponseMarshaller(Utf8Marshaller.INSTANCE)
          .build();

  private final Set<StreamObserver<String>> members = ConcurrentHashMap.newKeySet();

  /** The service as a server registers it. */
  public ServerServiceDefinition service() {
    return ServerServiceDefinition.builder("chat.ChatRoom")
        .addMethod(TALK, ServerCalls.asyncBidiStreamingCall(this::join))
        .build();
  }

  private StreamObserver<String> join(StreamObserver<String> member) {
    members.add(member);
    return new StreamObserver<>() {
      @Override
      public void onNext(String line) {
        List<StreamObserver<String>> everyone = new ArrayList<>(members);
        for (StreamObserver<String> m : everyone) {
          synchronized (m) {
            m.onNext(line);
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        members.remove(member); // the member went away (cancelled or disconnected)
      }

      @Override
      public void onCompleted() {
        members.remove(member);
        synchronized (member) {
          member.onCompleted();
        }
      }
    };
  }
}
