package dev.grpclean.transport;

import io.grpc.Internal;
import io.grpc.internal.TransportTracer;
import java.util.concurrent.TimeUnit;

/** Hooks for tests and sibling modules, in the style of grpc's {@code Internal*} classes. */
@Internal
public final class InternalLeanChannelBuilder {
  private InternalLeanChannelBuilder() {}

  /** Turns grpc-core's census stats module on or off (the interop suite installs its own). */
  public static void setStatsEnabled(LeanChannelBuilder builder, boolean value) {
    builder.setStatsEnabled(value);
  }

  /**
   * Bounds connect, security handshake and the server's first SETTINGS together (default 20 s);
   * a connection that takes longer is closed and reported UNAVAILABLE.
   */
  public static void setHandshakeTimeout(LeanChannelBuilder builder, long timeout,
      TimeUnit unit) {
    if (timeout <= 0) {
      throw new IllegalArgumentException("handshake timeout must be positive: " + timeout);
    }
    builder.connectTimeoutNanos = unit.toNanos(timeout);
  }

  public static void setTransportTracerFactory(LeanChannelBuilder builder,
      TransportTracer.Factory factory) {
    builder.setTransportTracerFactory(factory);
  }
}
