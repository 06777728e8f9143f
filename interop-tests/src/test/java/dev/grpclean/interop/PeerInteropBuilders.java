package dev.grpclean.interop;

import io.grpc.netty.shaded.io.grpc.netty.InternalNettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.okhttp.InternalOkHttpChannelBuilder;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.testing.integration.AbstractInteropTest;

/**
 * grpc-netty-shaded and grpc-okhttp builders configured for the interop suite.
 *
 * <p>Thread-safe (stateless).
 */
final class PeerInteropBuilders {
  private PeerInteropBuilders() {}

  static NettyServerBuilder nettyServer() {
    NettyServerBuilder builder =
        NettyServerBuilder.forPort(0)
            .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
            .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalNettyServerBuilder.setStatsEnabled(builder, false);
    return builder;
  }

  static NettyChannelBuilder nettyChannel(int port) {
    NettyChannelBuilder builder =
        NettyChannelBuilder.forAddress("localhost", port)
            .usePlaintext()
            .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
            .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalNettyChannelBuilder.setStatsEnabled(builder, false);
    return builder;
  }

  static OkHttpChannelBuilder okHttpChannel(int port) {
    OkHttpChannelBuilder builder =
        OkHttpChannelBuilder.forAddress("localhost", port)
            .usePlaintext()
            .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
            .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalOkHttpChannelBuilder.setStatsEnabled(builder, false);
    return builder;
  }
}
