package dev.grpclean.transport.contract;

import io.grpc.ServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.okhttp.OkHttpChannelBuilder;

/**
 * Plaintext builders for the transports we test against but did not write: grpc-netty-shaded and
 * grpc-okhttp.
 *
 * <p>Thread-safe (stateless).
 */
public final class PeerBuilders {
  private PeerBuilders() {}

  public static NettyServerBuilder nettyServer(int port) {
    return NettyServerBuilder.forPort(port);
  }

  public static NettyChannelBuilder nettyChannel(int port) {
    return NettyChannelBuilder.forAddress("localhost", port).usePlaintext();
  }

  public static OkHttpChannelBuilder okHttpChannel(int port) {
    return OkHttpChannelBuilder.forAddress("localhost", port).usePlaintext();
  }

  /** Sets netty's limit on concurrent calls per connection; the builder must be netty's. */
  public static void nettyMaxConcurrentCalls(ServerBuilder<?> builder, int calls) {
    ((NettyServerBuilder) builder).maxConcurrentCallsPerConnection(calls);
  }
}
