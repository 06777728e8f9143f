package dev.grpclean.transport;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannelProvider;
import java.net.SocketAddress;
import java.util.Collection;

/**
 * Makes the lean transport discoverable through {@code Grpc.newChannelBuilder}.
 *
 * <p>Priority {@value #DEFAULT_PRIORITY}: below grpc-netty's 5, so adding grpc-lean to a classpath
 * that has Netty does not silently swap the transport. Set the system property
 * {@code grpclean.provider.priority} (e.g. to 6) to make lean the default.
 *
 * <p>Thread-safe.
 */
public final class LeanChannelProvider extends ManagedChannelProvider {
  static final int DEFAULT_PRIORITY = 4;
  static final String PRIORITY_PROPERTY = "grpclean.provider.priority";

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return priorityFromProperty();
  }

  static int priorityFromProperty() {
    String value = System.getProperty(PRIORITY_PROPERTY);
    if (value == null) {
      return DEFAULT_PRIORITY;
    }
    try {
      int p = Integer.parseInt(value.trim());
      return Math.max(0, Math.min(10, p));
    } catch (NumberFormatException e) {
      return DEFAULT_PRIORITY;
    }
  }

  @Override
  protected LeanChannelBuilder builderForAddress(String name, int port) {
    return LeanChannelBuilder.forAddress(name, port);
  }

  @Override
  protected LeanChannelBuilder builderForTarget(String target) {
    return LeanChannelBuilder.forTarget(target);
  }

  @Override
  protected NewChannelBuilderResult newChannelBuilder(String target, ChannelCredentials creds) {
    try {
      return NewChannelBuilderResult.channelBuilder(LeanChannelBuilder.forTarget(target, creds));
    } catch (IllegalArgumentException e) {
      return NewChannelBuilderResult.error(e.getMessage());
    }
  }

  @Override
  protected Collection<Class<? extends SocketAddress>> getSupportedSocketAddressTypes() {
    return LeanChannelBuilder.supportedSocketAddressTypes();
  }
}
