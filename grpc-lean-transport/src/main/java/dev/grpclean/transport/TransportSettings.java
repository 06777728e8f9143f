package dev.grpclean.transport;

import java.util.concurrent.TimeUnit;

/**
 * Settings shared by client and server connections, fixed when the transport is built.
 *
 * <p>Immutable; thread-safe.
 */
final class TransportSettings {
  /**
   * Default per-stream and connection receive window: 1 MiB, grpc-netty's default. A smaller
   * window caps throughput (grpc-okhttp's 64 KiB window is why it streams at a third of Netty's
   * speed here); a larger one lets a slow application be made to buffer more.
   */
  static final int DEFAULT_FLOW_CONTROL_WINDOW_BYTES = 1 << 20;
  /**
   * HPACK dynamic table size we advertise: the RFC 7541 default, so no SETTINGS entry is sent.
   * A smaller table would bound what each idle connection retains in decoded header strings, but
   * grpc-okhttp's encoder ignores SETTINGS_HEADER_TABLE_SIZE (it never sends the required size
   * update, RFC 7541 §4.2), so advertising less breaks that peer. Our own encoder uses less (see
   * {@code HeaderBlockEncoder.MAX_TABLE_BYTES}), which is always allowed.
   */
  static final int HEADER_TABLE_BYTES = 4096;

  /**
   * How long the peer has to acknowledge our first SETTINGS (RFC 9113 §6.5.3: SETTINGS_TIMEOUT).
   * Generous: a peer acks after reading our preface, one round trip, even when busy.
   */
  static final long DEFAULT_SETTINGS_ACK_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(20);

  /**
   * Default cap on DATA bytes one connection may hold queued behind flow control: 32 MiB. An
   * application that honours {@code isReady()} queues at most grpc-core's 32 KiB on-ready
   * threshold plus one message per stream, so only about a thousand blocked streams of small
   * messages (or a few dozen of multi-MiB ones) reach it; a peer that opens streams, asks for
   * large responses and never opens its windows reaches it quickly, and the stream that passes it
   * is reset instead of the connection buffering without bound.
   */
  static final long DEFAULT_MAX_QUEUED_BYTES_PER_CONNECTION = 32L << 20;

  final int flowControlWindowBytes;
  /**
   * Whether receive windows grow from {@link #flowControlWindowBytes} with the measured
   * bandwidth-delay product ({@link BdpEstimator}), up to {@link #maxFlowControlWindowBytes}.
   */
  final boolean autoFlowControl;
  final int maxFlowControlWindowBytes;
  final long settingsAckTimeoutNanos;
  final int maxInboundMetadataBytes;
  final int maxInboundMessageBytes;
  final long maxQueuedBytesPerConnection;
  /** The memory budget this transport charges, or null: no budget, no accounting at all. */
  @javax.annotation.Nullable final LeanMemoryBudget memoryBudget;
  /** Where the connections built with these settings sum their counters. */
  final ConnectionStatsGroup statsGroup;

  TransportSettings(int flowControlWindowBytes, int maxInboundMetadataBytes,
      int maxInboundMessageBytes, long maxQueuedBytesPerConnection) {
    this(flowControlWindowBytes, maxInboundMetadataBytes, maxInboundMessageBytes,
        maxQueuedBytesPerConnection, DEFAULT_SETTINGS_ACK_TIMEOUT_NANOS,
        new ConnectionStatsGroup());
  }

  TransportSettings(int flowControlWindowBytes, int maxInboundMetadataBytes,
      int maxInboundMessageBytes, long maxQueuedBytesPerConnection,
      long settingsAckTimeoutNanos, ConnectionStatsGroup statsGroup) {
    this(flowControlWindowBytes, maxInboundMetadataBytes, maxInboundMessageBytes,
        maxQueuedBytesPerConnection, settingsAckTimeoutNanos, statsGroup, null);
  }

  TransportSettings(int flowControlWindowBytes, int maxInboundMetadataBytes,
      int maxInboundMessageBytes, long maxQueuedBytesPerConnection,
      long settingsAckTimeoutNanos, ConnectionStatsGroup statsGroup,
      @javax.annotation.Nullable LeanMemoryBudget memoryBudget) {
    this(flowControlWindowBytes, maxInboundMetadataBytes, maxInboundMessageBytes,
        maxQueuedBytesPerConnection, settingsAckTimeoutNanos, statsGroup, memoryBudget, false,
        flowControlWindowBytes);
  }

  TransportSettings(int flowControlWindowBytes, int maxInboundMetadataBytes,
      int maxInboundMessageBytes, long maxQueuedBytesPerConnection,
      long settingsAckTimeoutNanos, ConnectionStatsGroup statsGroup,
      @javax.annotation.Nullable LeanMemoryBudget memoryBudget, boolean autoFlowControl,
      int maxFlowControlWindowBytes) {
    this.autoFlowControl = autoFlowControl;
    this.maxFlowControlWindowBytes = maxFlowControlWindowBytes;
    this.memoryBudget = memoryBudget;
    this.statsGroup = statsGroup;
    this.settingsAckTimeoutNanos = settingsAckTimeoutNanos;
    this.flowControlWindowBytes = flowControlWindowBytes;
    this.maxInboundMetadataBytes = maxInboundMetadataBytes;
    this.maxInboundMessageBytes = maxInboundMessageBytes;
    this.maxQueuedBytesPerConnection = maxQueuedBytesPerConnection;
  }

  /**
   * Cap on one compressed header block. Huffman coding can at worst inflate a string by about
   * 3.75x, so a block four times the decoded-size limit plus room for HPACK framing cannot be a
   * header list within the limit; anything larger is refused before it is accumulated.
   */
  int maxHeaderBlockBytes() {
    long cap = 4L * maxInboundMetadataBytes + 1024;
    return (int) Math.min(cap, 16 << 20);
  }
}
