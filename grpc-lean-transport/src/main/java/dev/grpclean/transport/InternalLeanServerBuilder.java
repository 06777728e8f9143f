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

  /** How long a client has to acknowledge the server's SETTINGS (default 20 s). */
  public static void setSettingsAckTimeout(LeanServerBuilder builder, long timeout,
      java.util.concurrent.TimeUnit unit) {
    builder.setSettingsAckTimeout(timeout, unit);
  }

  public static void setTransportTracerFactory(LeanServerBuilder builder,
      TransportTracer.Factory factory) {
    builder.setTransportTracerFactory(factory);
  }
}
