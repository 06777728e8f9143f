package dev.grpclean.interop;

import dev.grpclean.transport.InternalLeanChannelBuilder;
import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.internal.GrpcUtil;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.okhttp.InternalOkHttpChannelBuilder;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.grpc.testing.integration.AbstractInteropTest;
import java.util.Locale;
import javax.annotation.Nullable;

/**
 * The {@code --transport} choices: ours, grpc-netty-shaded and grpc-okhttp, each configured the
 * way grpc-java's own interop runners configure theirs.
 *
 * <p>Immutable.
 */
enum TransportKind {
  LEAN,
  NETTY,
  OKHTTP;

  /**
   * A channel builder to {@code host:port} with the default census stats off (the interop suite
   * installs its own recording interceptor) and the suite's small flow control window.
   *
   * @throws UnsupportedSecurityException if this transport refuses the credentials
   */
  ManagedChannelBuilder<?> channelBuilder(
      String host, int port, ChannelCredentials creds, @Nullable String hostOverride) {
    int window = AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW;
    switch (this) {
      case LEAN:
        LeanChannelBuilder lean;
        try {
          lean = LeanChannelBuilder.forAddress(host, port, creds);
        } catch (IllegalArgumentException | IllegalStateException e) {
          throw unsupported("client", creds instanceof InsecureChannelCredentials, e);
        }
        InternalLeanChannelBuilder.setStatsEnabled(lean, false);
        lean.flowControlWindow(window);
        return hostOverride == null ? lean : lean.overrideAuthority(hostOverride);
      case NETTY:
        NettyChannelBuilder netty;
        try {
          netty = NettyChannelBuilder.forAddress(host, port, creds);
        } catch (IllegalArgumentException | IllegalStateException e) {
          throw unsupported("client", creds instanceof InsecureChannelCredentials, e);
        }
        InternalNettyChannelBuilder.setStatsEnabled(netty, false);
        netty.flowControlWindow(window);
        return hostOverride == null ? netty : netty.overrideAuthority(hostOverride);
      case OKHTTP:
        OkHttpChannelBuilder okHttp;
        try {
          okHttp = OkHttpChannelBuilder.forAddress(host, port, creds);
        } catch (IllegalArgumentException | IllegalStateException e) {
          throw unsupported("client", creds instanceof InsecureChannelCredentials, e);
        }
        InternalOkHttpChannelBuilder.setStatsEnabled(okHttp, false);
        okHttp.flowControlWindow(window);
        // Like grpc-java's TestServiceClient: OkHttp verifies the host of an authority with port.
        return hostOverride == null
            ? okHttp
            : okHttp.overrideAuthority(GrpcUtil.authorityFromHostAndPort(hostOverride, port));
      default:
        throw new AssertionError(this);
    }
  }

  /**
   * A server builder on {@code port} of all interfaces.
   *
   * @throws UnsupportedSecurityException if this transport refuses the credentials
   */
  ServerBuilder<?> serverBuilder(int port, ServerCredentials creds) {
    try {
      switch (this) {
        case LEAN:
          return LeanServerBuilder.forPort(port, creds);
        case NETTY:
          return NettyServerBuilder.forPort(port, creds);
        case OKHTTP:
          return OkHttpServerBuilder.forPort(port, creds);
        default:
          throw new AssertionError(this);
      }
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw unsupported("server", creds instanceof InsecureServerCredentials, e);
    }
  }

  /**
   * Builders refuse credentials they cannot use with an IllegalArgumentException or
   * IllegalStateException. Plaintext must always work, so that stays a plain failure.
   */
  RuntimeException unsupported(String side, boolean plaintext, RuntimeException cause) {
    if (plaintext) {
      return cause;
    }
    return new UnsupportedSecurityException(
        this + " " + side + (this == LEAN ? " (not built yet)" : "") + ": " + cause.getMessage(),
        cause);
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }

  static TransportKind fromFlags(Flags flags) {
    String value = flags.string("transport", "lean");
    try {
      return valueOf(value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new Flags.UsageException("--transport wants lean, netty or okhttp, got " + value);
    }
  }
}
