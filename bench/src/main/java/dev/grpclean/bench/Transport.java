package dev.grpclean.bench;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.okhttp.OkHttpServerBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Locale;

/**
 * The transports the bench compares, each with its own builders. Every one is plaintext over
 * loopback with default settings, so a figure is what a user gets without tuning.
 *
 * <p>Thread-safe (stateless).
 */
public enum Transport {
  LEAN {
    @Override
    public ServerBuilder<?> serverBuilder() {
      return LeanServerBuilder.forAddress(loopback());
    }

    @Override
    public ManagedChannel channel(String host, int port) {
      return LeanChannelBuilder.forAddress(host, port).usePlaintext().build();
    }
  },
  NETTY {
    @Override
    public ServerBuilder<?> serverBuilder() {
      return NettyServerBuilder.forAddress(loopback());
    }

    @Override
    public ManagedChannel channel(String host, int port) {
      return NettyChannelBuilder.forAddress(host, port).usePlaintext().build();
    }
  },
  OKHTTP {
    @Override
    public ServerBuilder<?> serverBuilder() {
      return OkHttpServerBuilder.forPort(loopback(), InsecureServerCredentials.create());
    }

    @Override
    public ManagedChannel channel(String host, int port) {
      return OkHttpChannelBuilder.forAddress(host, port).usePlaintext().build();
    }
  };

  /** A server builder listening on an ephemeral loopback port. */
  public abstract ServerBuilder<?> serverBuilder();

  public abstract ManagedChannel channel(String host, int port);

  /** The name used on the command line and in reports: {@code lean}, {@code netty}, {@code okhttp}. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The transport named {@code id}, ignoring case; IllegalArgumentException listing the choices. */
  public static Transport parse(String id) {
    for (Transport t : values()) {
      if (t.id().equalsIgnoreCase(id.trim())) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "unknown transport '" + id + "' (choose from lean, netty, okhttp)");
  }

  private static InetSocketAddress loopback() {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  }
}
