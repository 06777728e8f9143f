package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;
import dev.grpclean.transport.frame.Settings;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.internal.ClientStreamListener.RpcProgress;
import io.grpc.internal.GoAwayDisconnectError;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.KeepAliveManager;
import io.grpc.internal.KeepAliveManager.ClientKeepAlivePinger;
import io.grpc.internal.SimpleDisconnectError;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP/2 side of one client connection: connect, preface, response header rules and GOAWAY;
 * {@link LeanClientTransport} adapts it to grpc-core's lifecycle.
 *
 * <p>Confined to the connection's loop thread.
 */
final class ClientConnection extends Http2Connection {
  private static final Logger log = Logger.getLogger(ClientConnection.class.getName());

  private final LeanClientTransport transport;
  boolean connected;
  private boolean readySent;
  /**
   * HEADERS and DATA frames received when the last round-trip probe left ({@link
   * #takeRoundTripProbeTurn}); 0 before the first, so the first also waits for a stream frame.
   */
  private long streamFramesAtProbe;
  /** The labels the metrics counted this connection open with; null if it was not counted. */
  @javax.annotation.Nullable private List<String> metricsLabels;

  ClientConnection(LeanClientTransport transport, SocketChannel channel) {
    super(transport.loop, channel, transport.factory.settings, false);
    this.transport = transport;
  }

  /**
   * Whether a round-trip probe ({@link ConnectionStatsGroup#probeRoundTrips}) may leave now, and
   * if so, takes the turn. Servers police client PINGs (grpc's keepalive enforcer answers a third
   * one within its {@code permitKeepAliveTime}, 5 minutes by default, with GOAWAY
   * ENHANCE_YOUR_CALM "too_many_pings") but forget the strikes whenever they send HEADERS or DATA
   * (grpc-netty, grpc-okhttp, lean), which is what lets BDP pings follow received data. So a probe
   * leaves only after the server sent HEADERS or DATA since the last one, and only when no PING ack
   * is awaited: at most one PING per batch of stream frames the server wrote, whatever the rate the
   * caller asks at. Never when counting is off (nothing would time it) or the connection is idle
   * (hibernated counters), and never before the server's SETTINGS.
   */
  boolean takeRoundTripProbeTurn() {
    if (!settings.peerSettingsReceived || closed) {
      return false;
    }
    long frames = counters.streamFramesIn();
    if (frames <= streamFramesAtProbe || counters.pingAwaitingAck()) {
      return false;
    }
    streamFramesAtProbe = frames;
    return true;
  }

  int activeStreams() {
    return streams.size();
  }

  /** The call on stream {@code id}, or null. */
  private LeanClientStream.State call(int id) {
    return (LeanClientStream.State) streams.get(id);
  }

  @Override
  void onConnectable() {
    try {
      if (!socket.channel.finishConnect()) {
        return;
      }
    } catch (IOException e) {
      closeNow(Status.UNAVAILABLE.withDescription("connect to " + transport.address + " failed: "
          + e.getMessage()).withCause(e));
      return;
    }
    socket.key.interestOps(SelectionKey.OP_READ);
    onConnected();
  }

  void onConnected() {
    connected = true;
    SocketAddress local = null;
    try {
      local = socket.channel.getLocalAddress();
    } catch (IOException ignored) {
      // reported as absent
    }
    transport.attributes = transport.attributes.toBuilder().set(Grpc.TRANSPORT_ATTR_LOCAL_ADDR, local).build();
    SocketAddress peer = null;
    try {
      peer = socket.channel.getRemoteAddress();
    } catch (IOException ignored) {
      // reported as absent
    }
    // Counted now that both addresses are known (A80: connections established), out at close.
    if (!closed) {
      metricsLabels = config.statsGroup.connected(local, peer);
    }
    // The connect timer keeps running through the handshake: it ends at the server's SETTINGS.
    startSecurity(transport.factory.handshakerFactory, transport.authority);
  }

  @Override
  List<String> metricsLabels() {
    return metricsLabels;
  }

  @Override
  void onSecureChannelReady(Attributes securityAttrs,
      io.grpc.InternalChannelz.Security security) {
    transport.secured(securityAttrs, security);
    sendControl(new ControlFrame.RawBytes(FrameType.CONNECTION_PREFACE));
    Settings settings = new Settings()
        .set(Settings.ENABLE_PUSH, 0)
        .set(Settings.INITIAL_WINDOW_SIZE, config.flowControlWindowBytes)
        .set(Settings.MAX_HEADER_LIST_SIZE, config.maxInboundMetadataBytes);
    sendInitialSettings(settings);
    if (transport.keepAliveTimeNanos != GrpcUtil.KEEPALIVE_TIME_NANOS_DISABLED) {
      transport.keepAliveManager = new KeepAliveManager(new ClientKeepAlivePinger(
          transport), transport.factory.scheduler, transport.keepAliveTimeNanos,
          transport.factory.keepAliveTimeoutNanos, transport.factory.keepAliveWithoutCalls);
      transport.keepAliveManager.onTransportStarted();
      if (transport.inUseStreams > 0) {
        transport.keepAliveManager.onTransportActive();
      }
    }
  }

  @Override
  java.util.concurrent.ScheduledExecutorService scheduler() {
    return transport.factory.scheduler;
  }

  @Override
  void onBytesRead() {
    transport.onBytesRead();
  }

  @Override
  void onPeerSettingsApplied(boolean first) {
    if (first && !readySent) {
      readySent = true;
      if (transport.connectTimeout != null) {
        transport.connectTimeout.cancel(false);
        transport.connectTimeout = null;
      }
      transport.attributes = transport.listener.filterTransport(transport.attributes);
      transport.listener.transportReady();
    }
    if (transport.shutdownStatus == null && !transport.goAwayReceived) {
      transport.startPendingStreams();
    }
  }

  @Override
  public void onHeaders(int streamId, ByteBuffer headerBlock, boolean endStream)
      throws Http2ConnectionError, Http2StreamError {
    // Decode first, always: HPACK state must follow every block even for dead streams.
    Http2Headers headers = decoder.decode(streamId, headerBlock);
    LeanClientStream.State s = call(streamId);
    if (s == null) {
      checkNotIdle(streamId, "HEADERS");
      return;
    }
    if (s.remoteClosed) {
      throw new Http2StreamError(streamId, ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM");
    }
    if (s.headersReceived && !endStream) {
      transport.resetStream(s, ErrorCode.PROTOCOL_ERROR, Status.INTERNAL.withDescription(
          "received a second HEADERS without END_STREAM"), true, new Metadata());
      return;
    }
    if (endStream) {
      s.remoteClosed = true;
    }
    s.headersReceived(GrpcHeaders.toMetadata(headers, true), endStream);
    if (endStream) {
      finishRemote(s);
    }
  }

  private void finishRemote(LeanClientStream.State s) {
    if (!s.localClosed && streams.get(s.id) == s) {
      // The server finished first (e.g. an early error): stop sending and tell it so.
      StreamRules.resetLocally(this, s, ErrorCode.CANCEL);
      s.localClosed = true;
    }
    transport.maybeRemoveStream(s);
  }

  @Override
  void checkNotIdle(int streamId, String frameType) throws Http2ConnectionError {
    if ((streamId & 1) == 0 || streamId >= transport.nextStreamId) {
      // RFC 9113 §5.1: frames on idle streams, or server-initiated streams without push.
      throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR,
          frameType + " for stream " + streamId + " that was never opened");
    }
    // A stream we already closed (reset or finished): late frames are ignored.
  }

  @Override
  void onRemoteEnd(H2Stream s) {
    finishRemote((LeanClientStream.State) s);
  }

  @Override
  void onPeerReset(H2Stream stream, long errorCode) {
    LeanClientStream.State s = (LeanClientStream.State) stream;
    Status status = GrpcUtil.Http2Error.statusForCode(errorCode)
        .augmentDescription("Received Rst Stream");
    RpcProgress progress = errorCode == ErrorCode.REFUSED_STREAM.code()
        ? RpcProgress.REFUSED : RpcProgress.PROCESSED;
    s.report(status, progress, true, new Metadata());
    transport.removeStream(s);
  }

  @Override
  void onStreamFailed(H2Stream stream, Status status) {
    LeanClientStream.State s = (LeanClientStream.State) stream;
    s.report(status, RpcProgress.PROCESSED, true, new Metadata());
    transport.removeStream(s);
  }

  @Override
  void onStreamLost(H2Stream s, Status status) {
    ((LeanClientStream.State) s).report(status, RpcProgress.PROCESSED, true, new Metadata());
  }

  @Override
  public void onGoAway(int lastStreamId, long errorCode, ByteBuffer debugData) {
    counters.goAwayReceived(errorCode);
    byte[] debug = new byte[debugData.remaining()];
    debugData.get(debug);
    String debugText = new String(debug, StandardCharsets.UTF_8);
    if (errorCode == ErrorCode.ENHANCE_YOUR_CALM.code() && "too_many_pings".equals(debugText)) {
      log.log(Level.WARNING, "Received GOAWAY too_many_pings from {0}; backing off keepalive",
          transport.address);
      if (transport.tooManyPingsRunnable != null) {
        transport.tooManyPingsRunnable.run();
      }
    }
    Status status = GrpcUtil.Http2Error.statusForCode(errorCode)
        .augmentDescription("Received Goaway");
    if (!debugText.isEmpty()) {
      status = status.augmentDescription(debugText);
    }
    if (!transport.goAwayReceived) {
      transport.goAwayReceived = true;
      if (transport.shutdownStatus == null) {
        transport.shutdownStatus = status;
        transport.listener.transportShutdown(status,
            new GoAwayDisconnectError(GrpcUtil.Http2Error.forCode(errorCode)));
      }
    }
    // Streams above lastStreamId were never processed: they may be retried elsewhere.
    List<LeanClientStream.State> refused = new ArrayList<>();
    for (H2Stream s : streams.values()) {
      if (s.id() > lastStreamId) {
        refused.add((LeanClientStream.State) s);
      }
    }
    for (LeanClientStream.State s : refused) {
      writer.cancel(s.outbound);
      s.report(status, RpcProgress.REFUSED, true, new Metadata());
      transport.removeStream(s);
    }
    transport.failPending(status, RpcProgress.MISCARRIED);
    transport.maybeFinishShutdown();
  }

  @Override
  void onPingAck(long payload) {
    connectionFlow.onPingAck(payload);
    if (transport.ping != null && transport.ping.payload() == payload) {
      transport.ping.complete();
      transport.ping = null;
    }
  }

  @Override
  int lastPeerStreamId() {
    return 0;
  }

  @Override
  void onEndOfInput() {
    closeNow(Status.UNAVAILABLE.withDescription("connection closed by the server"));
  }

  @Override
  void onOutboundHeadersFailed(int streamId, Status status) {
    LeanClientStream.State s = call(streamId);
    if (s != null) {
      transport.resetStream(s, ErrorCode.INTERNAL_ERROR, status, true, new Metadata());
    }
  }

  @Override
  void onClosed(Status status) {
    transport.inUseStreams = Math.min(transport.inUseStreams, transport.pendingStreams.size());
    transport.terminate(status, SimpleDisconnectError.CONNECTION_RESET);
  }

  @Override
  public String toString() {
    return transport.toString();
  }
}
