package dev.grpclean.transport;

import io.grpc.Internal;
import io.grpc.internal.TransportTracer;

/** Hooks for tests and sibling modules, in the style of grpc's {@code Internal*} classes. */
@Internal
public final class InternalLeanServerBuilder {
  private InternalLeanServerBuilder() {}

  public static void setStatsEnabled(LeanServerBuilder builder, boolean value) {
    builder.setStatsEnabled(value);
  }

  public static void setTransportTracerFactory(LeanServerBuilder builder,
      TransportTracer.Factory factory) {
    builder.setTransportTracerFactory(factory);
  }
}
