package dev.grpclean.transport;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import dev.grpclean.transport.io.EventLoop;
import io.grpc.Attributes;
import io.grpc.InternalChannelz.Security;
import io.grpc.InternalChannelz.SocketStats;
import io.grpc.InternalInstrumented;
import io.grpc.InternalLogId;
import java.net.SocketAddress;
import javax.annotation.Nullable;

/**
 * What the client and the server transport keep alike for grpc-core: the loop their connection
 * runs on, the log id and channelz stats, the attributes and security the handshake fills in; socket
 * reads feed each side's keepalive ({@link #onBytesRead}). {@link LeanClientTransport} and {@link
 * LeanServerTransport} add their side's lifecycle.
 *
 * <p>Fields not marked otherwise are confined to the connection's loop thread; {@link #getStats}
 * and {@link #getLogId} may be called from any thread.
 */
abstract class LeanTransportBase implements InternalInstrumented<SocketStats> {
  final EventLoop loop;
  private final InternalLogId logId;
  /** Loop thread writes (connect, handshake, ready); any thread reads. */
  volatile Attributes attributes;
  /** Channelz security description once handshaken; loop thread writes, any thread reads. */
  @Nullable volatile Security security;

  LeanTransportBase(EventLoop loop, InternalLogId logId, Attributes attributes) {
    this.loop = loop;
    this.logId = logId;
    this.attributes = attributes;
  }

  /** Loop thread: the security handshake (or plaintext) finished with these attributes. */
  final void secured(Attributes securityAttrs, @Nullable Security security) {
    attributes = attributes.toBuilder().setAll(securityAttrs).build();
    this.security = security;
  }

  /** Loop thread: bytes came in on the socket, which is what keepalive watches for. */
  abstract void onBytesRead();

  /** Runs {@code r} on the loop, or drops it once the loop stopped (it closed the connection). */
  final void runOnLoop(Runnable r) {
    loop.executeOrDrop(r);
  }

  @Override
  public final InternalLogId getLogId() {
    return logId;
  }

  /** Read on the loop, or on the caller once the loop stopped, so a stats request completes. */
  @Override
  public final ListenableFuture<SocketStats> getStats() {
    SettableFuture<SocketStats> future = SettableFuture.create();
    loop.executeOrRunHere(() -> future.set(new SocketStats(transportStats(),
        localAddress(), remoteAddress(), ChannelzSocketOptions.of(socketChannel()), security)));
    return future;
  }

  /** Loop thread (or any once the loop stopped): grpc-core's figures for channelz. */
  abstract io.grpc.InternalChannelz.TransportStats transportStats();

  /** Loop thread (or any once the loop stopped): the connection's socket, null before it has one. */
  @Nullable
  abstract java.nio.channels.SocketChannel socketChannel();

  /** Loop thread (or any once the loop stopped): this end's address, null if unknown. */
  @Nullable
  abstract SocketAddress localAddress();

  /** Loop thread (or any once the loop stopped): the peer's address, null if unknown. */
  @Nullable
  abstract SocketAddress remoteAddress();
}
