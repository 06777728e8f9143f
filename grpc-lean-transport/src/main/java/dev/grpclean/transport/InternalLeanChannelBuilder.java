package dev.grpclean.transport;

import io.grpc.Internal;
import io.grpc.internal.TransportTracer;

/** Hooks for tests and sibling modules, in the style of grpc's {@code Internal*} classes. */
@Internal
public final class InternalLeanChannelBuilder {
  private InternalLeanChannelBuilder() {}

  /** Turns grpc-core's census stats module on or off (the interop suite installs its own). */
  public static void setStatsEnabled(LeanChannelBuilder builder, boolean value) {
    builder.setStatsEnabled(value);
  }

  public static void setTransportTracerFactory(LeanChannelBuilder builder,
      TransportTracer.Factory factory) {
    builder.setTransportTracerFactory(factory);
  }
}
