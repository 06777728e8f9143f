package dev.grpclean.transport;

import io.grpc.ServerCredentials;
import io.grpc.ServerProvider;

/**
 * Makes the lean transport discoverable through {@code Grpc.newServerBuilderForPort}. Same
 * priority rule as {@link LeanChannelProvider}: below Netty unless
 * {@code grpclean.provider.priority} says otherwise.
 *
 * <p>Thread-safe.
 */
public final class LeanServerProvider extends ServerProvider {
  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return LeanChannelProvider.priorityFromProperty();
  }

  @Override
  protected LeanServerBuilder builderForPort(int port) {
    return LeanServerBuilder.forPort(port);
  }

  @Override
  protected NewServerBuilderResult newServerBuilderForPort(int port, ServerCredentials creds) {
    try {
      return NewServerBuilderResult.serverBuilder(LeanServerBuilder.forPort(port, creds));
    } catch (IllegalArgumentException e) {
      return NewServerBuilderResult.error(e.getMessage());
    }
  }
}
