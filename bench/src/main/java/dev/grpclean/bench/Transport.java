package dev.grpclean.bench;

import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.okhttp.OkHttpServerBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Locale;

/**
 * The transports the bench compares, each with its own builders. Every one runs over loopback
 * with default settings, so a figure is what a user gets without tuning; plaintext unless
 * credentials are given (see {@link Security} for which modes each transport supports).
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

    @Override
    public ServerBuilder<?> serverBuilder(ServerCredentials creds) {
      return LeanServerBuilder.forAddress(loopback(), creds);
    }

    @Override
    ManagedChannelBuilder<?> channelBuilder(String host, int port, ChannelCredentials creds) {
      return LeanChannelBuilder.forAddress(host, port, creds);
    }
  },
  /**
   * Lean with every connection's counters off (its builders say {@code connectionCounters(false)})
   * and, in the bench's child JVMs, the poller threads' figures too (they run with {@code
   * -Dgrpclean.connectionCounters=false}): next to {@link #LEAN} in one compare or JMH run, what
   * the counters cost. Not among compare's defaults.
   */
  LEAN_NO_COUNTERS {
    @Override
    public ServerBuilder<?> serverBuilder() {
      return LeanServerBuilder.forAddress(loopback()).connectionCounters(false);
    }

    @Override
    public ManagedChannel channel(String host, int port) {
      return LeanChannelBuilder.forAddress(host, port).usePlaintext().connectionCounters(false)
          .build();
    }

    @Override
    public ServerBuilder<?> serverBuilder(ServerCredentials creds) {
      return LeanServerBuilder.forAddress(loopback(), creds).connectionCounters(false);
    }

    @Override
    ManagedChannelBuilder<?> channelBuilder(String host, int port, ChannelCredentials creds) {
      return LeanChannelBuilder.forAddress(host, port, creds).connectionCounters(false);
    }

    @Override
    public String id() {
      return "lean-nocounters";
    }

    @Override
    public java.util.List<String> childJvmFlags() {
      return java.util.List.of("-Dgrpclean.connectionCounters=false");
    }
  },
  /**
   * Lean with the JDK's TLS engine on the server side only ({@code
   * -Dgrpclean.tls.serverProvider=jdk} in both child JVMs; the client side keeps its own choice):
   * next to {@link #LEAN} in one compare run, what the server's engine costs at rest and in
   * throughput. Not among compare's defaults.
   */
  LEAN_JDK_SERVER("lean-jdkserver", "-Dgrpclean.tls.serverProvider=jdk"),
  /**
   * Lean with Conscrypt's TLS engine on the server side only ({@code
   * -Dgrpclean.tls.serverProvider=conscrypt}): the counterpart of {@link #LEAN_JDK_SERVER}.
   * Not among compare's defaults.
   */
  LEAN_CONSCRYPT_SERVER("lean-conscryptserver", "-Dgrpclean.tls.serverProvider=conscrypt"),
  /**
   * Lean with Conscrypt given the key managers' keys as they are ({@code
   * -Dgrpclean.tls.conscryptNativeKeys=false}: parsed again at every handshake and kept by each
   * connection) instead of converted once and shared: next to {@link #LEAN} in one compare run,
   * what the conversion saves. Not among compare's defaults.
   */
  LEAN_JCA_KEYS("lean-jcakeys", "-Dgrpclean.tls.conscryptNativeKeys=false"),
  NETTY {
    @Override
    public ServerBuilder<?> serverBuilder() {
      return NettyServerBuilder.forAddress(loopback());
    }

    @Override
    public ManagedChannel channel(String host, int port) {
      return NettyChannelBuilder.forAddress(host, port).usePlaintext().build();
    }

    @Override
    public ServerBuilder<?> serverBuilder(ServerCredentials creds) {
      return NettyServerBuilder.forAddress(loopback(), creds);
    }

    @Override
    ManagedChannelBuilder<?> channelBuilder(String host, int port, ChannelCredentials creds) {
      return NettyChannelBuilder.forAddress(host, port, creds);
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

    @Override
    public ServerBuilder<?> serverBuilder(ServerCredentials creds) {
      return OkHttpServerBuilder.forPort(loopback(), creds);
    }

    @Override
    ManagedChannelBuilder<?> channelBuilder(String host, int port, ChannelCredentials creds) {
      return OkHttpChannelBuilder.forAddress(host, port, creds);
    }
  };

  /**
   * For a lean variant that differs from {@link #LEAN} only by a flag of the bench's child JVMs:
   * its id and that flag (its builders are LEAN's); null for every transport with builders of its
   * own, which overrides the four builder methods.
   */
  private final String flagVariantId;
  private final String flagVariantJvmFlag;

  Transport() {
    this(null, null);
  }

  Transport(String flagVariantId, String flagVariantJvmFlag) {
    this.flagVariantId = flagVariantId;
    this.flagVariantJvmFlag = flagVariantJvmFlag;
  }

  /** A server builder listening on an ephemeral loopback port. */
  public ServerBuilder<?> serverBuilder() {
    return flagVariantOf().serverBuilder();
  }

  public ManagedChannel channel(String host, int port) {
    return flagVariantOf().channel(host, port);
  }

  /**
   * A server builder on an ephemeral loopback port with these credentials. Credentials the
   * transport does not know fail here (IllegalArgumentException); check
   * {@link Security#supports} first.
   */
  public ServerBuilder<?> serverBuilder(ServerCredentials creds) {
    return flagVariantOf().serverBuilder(creds);
  }

  ManagedChannelBuilder<?> channelBuilder(String host, int port, ChannelCredentials creds) {
    return flagVariantOf().channelBuilder(host, port, creds);
  }

  /** {@link #LEAN}, whose builders a flag variant uses; a transport of its own must override. */
  private Transport flagVariantOf() {
    if (flagVariantId == null) {
      throw new AssertionError(this + " must override the builder methods");
    }
    return LEAN;
  }

  /** A channel with these credentials; {@code authority} overrides the target's when not null. */
  public ManagedChannel channel(String host, int port, ChannelCredentials creds,
      String authority) {
    if (creds instanceof InsecureChannelCredentials) {
      return channel(host, port);
    }
    ManagedChannelBuilder<?> b = channelBuilder(host, port, creds);
    if (authority != null) {
      b.overrideAuthority(authority);
    }
    return b.build();
  }

  /** The name used on the command line and in reports: {@code lean}, {@code netty}, {@code okhttp}. */
  public String id() {
    return flagVariantId != null ? flagVariantId : name().toLowerCase(Locale.ROOT);
  }

  /** Whether this is the lean transport (any of its variants). */
  public boolean isLean() {
    return this == LEAN || this == LEAN_NO_COUNTERS || flagVariantId != null;
  }

  /** Flags the bench adds to this transport's server and client JVMs. */
  public java.util.List<String> childJvmFlags() {
    return flagVariantJvmFlag != null
        ? java.util.List.of(flagVariantJvmFlag)
        : java.util.List.of();
  }

  /** What compare runs when {@code --transports} is not given. */
  public static java.util.List<Transport> compareDefaults() {
    return java.util.List.of(LEAN, NETTY, OKHTTP);
  }

  /** The transport named {@code id}, ignoring case; IllegalArgumentException listing the choices. */
  public static Transport parse(String id) {
    for (Transport t : values()) {
      if (t.id().equalsIgnoreCase(id.trim())) {
        return t;
      }
    }
    // Compare's defaults first, then the others as declared.
    String choices = java.util.stream.Stream.concat(compareDefaults().stream(),
            java.util.Arrays.stream(values()).filter(t -> !compareDefaults().contains(t)))
        .map(Transport::id)
        .collect(java.util.stream.Collectors.joining(", "));
    throw new IllegalArgumentException(
        "unknown transport '" + id + "' (choose from " + choices + ")");
  }

  private static InetSocketAddress loopback() {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  }
}
