package dev.grpclean.transport;

import io.grpc.InternalChannelz.SocketOptions;
import java.io.IOException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Set;
import javax.annotation.Nullable;

/**
 * Channelz's view of a connection's socket options, as grpc-netty reports them: the options the
 * socket supports (TCP ones are absent on a Unix domain socket), by their JDK names, in
 * {@link SocketOptions#others}, and SO_LINGER in its own field.
 *
 * <p>Thread-safe (stateless; the JDK synchronises option reads on the channel).
 */
final class ChannelzSocketOptions {
  private static final List<SocketOption<?>> REPORTED = List.of(
      StandardSocketOptions.TCP_NODELAY, StandardSocketOptions.SO_KEEPALIVE,
      StandardSocketOptions.SO_SNDBUF, StandardSocketOptions.SO_RCVBUF,
      StandardSocketOptions.SO_REUSEADDR);

  private ChannelzSocketOptions() {}

  /** The options of {@code channel}; empty when it is null or closed. */
  static SocketOptions of(@Nullable SocketChannel channel) {
    SocketOptions.Builder b = new SocketOptions.Builder();
    if (channel == null || !channel.isOpen()) {
      return b.build();
    }
    try {
      Set<SocketOption<?>> supported = channel.supportedOptions();
      for (SocketOption<?> option : REPORTED) {
        if (supported.contains(option)) {
          Object value = channel.getOption(option);
          if (value != null) {
            b.addOption(option.name(), String.valueOf(value));
          }
        }
      }
      if (supported.contains(StandardSocketOptions.SO_LINGER)) {
        Integer linger = channel.getOption(StandardSocketOptions.SO_LINGER);
        if (linger != null && linger >= 0) {
          b.setSocketOptionLingerSeconds(linger);
        }
      }
    } catch (IOException | UnsupportedOperationException e) {
      // Closed while we read: report what we have.
    }
    return b.build();
  }
}
