package dev.grpclean.bench.attack;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * What the server did on one attacker connection: every frame it sent (counted by type; GOAWAY,
 * RST_STREAM codes and response statuses kept), whether and how the connection ended, and what
 * the attacker got in before that. Times are milliseconds since the attack started.
 *
 * <p>Confined to the attacking thread; {@link RawConnection} feeds it from its frame reader.
 */
final class ServerAnswer extends Http2FrameAdapter {
  /** How the connection ended, as the attacker saw it. */
  enum Close {
    /** The server closed cleanly: a read returned end of stream. */
    EOF,
    /** A read or write failed ("Connection reset", "Broken pipe"): the server closed hard. */
    RESET,
    /** The connection could not be made at all. */
    REFUSED
  }

  /** One GOAWAY. Immutable. */
  static final class GoAway {
    final int lastStreamId;
    final long errorCode;
    final String debug;
    final long atMillis;

    GoAway(int lastStreamId, long errorCode, String debug, long atMillis) {
      this.lastStreamId = lastStreamId;
      this.errorCode = errorCode;
      this.debug = debug;
      this.atMillis = atMillis;
    }

    String codeName() {
      return errorName(errorCode);
    }
  }

  /** Listener of the server's SETTINGS (to apply them) and PINGs (to answer them). */
  interface Peer {
    void onServerSettings(Http2Settings settings);

    void onServerPing(long payload);
  }

  private final long startNanos;
  private Peer peer;

  final Map<String, Integer> framesReceived = new TreeMap<>();
  final List<GoAway> goAways = new ArrayList<>();
  final Map<String, Integer> rstStreams = new TreeMap<>();
  /** Response statuses other than plain success: "HTTP 431", "grpc-status 8", ... */
  final Map<String, Integer> statuses = new TreeMap<>();
  /** HEADERS carrying grpc-status 0: calls that succeeded. */
  int grpcOk;
  /** Highest stream id the server answered with HEADERS or RST_STREAM. */
  int lastAnsweredStream;
  long dataBytes;
  int settingsAcks;
  int pingAcks;
  /** Payload of the latest PING ack (the attacks' catch-up marker among them). */
  long lastPingAck;
  boolean serverSettingsSeen;

  /** We were not reading when the connection ended: replies (a GOAWAY too) may be lost. */
  boolean unreadAtClose;
  /** When the connect completed; -1 while it is pending (or if it failed). */
  long connectedAtMillis = -1;
  Close close;
  long closedAtMillis = -1;
  String closeDetail;
  /** The server stopped taking our bytes: the attack's writes made no progress for a while. */
  long stalledAtMillis = -1;
  /** The server's bytes could not be parsed as HTTP/2 (the rest was only counted). */
  String parseError;

  /** Whole frames the socket took from us (a header block split into CONTINUATION: one). */
  long framesSent;
  long bytesSent;

  ServerAnswer(long startNanos) {
    this.startNanos = startNanos;
  }

  void peer(Peer peer) {
    this.peer = peer;
  }

  long nowMillis() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  boolean closed() {
    return close != null;
  }

  /** Records the first sign of the end; later ones are ignored. */
  void closed(Close how, String detail) {
    if (close == null) {
      close = how;
      closeDetail = detail;
      closedAtMillis = nowMillis();
    }
  }

  void stalled() {
    if (stalledAtMillis < 0) {
      stalledAtMillis = nowMillis();
    }
  }

  GoAway firstGoAway() {
    return goAways.isEmpty() ? null : goAways.get(0);
  }

  /** The most telling GOAWAY: the first with an error code, else the first. */
  GoAway mainGoAway() {
    for (GoAway g : goAways) {
      if (g.errorCode != Http2Error.NO_ERROR.code()) {
        return g;
      }
    }
    return firstGoAway();
  }

  static String errorName(long code) {
    Http2Error e = Http2Error.valueOf(code);
    return e != null ? e.name() : "0x" + Long.toHexString(code);
  }

  private void count(String type) {
    framesReceived.merge(type, 1, Integer::sum);
  }

  // ---------------------------------------------------------------- frames

  @Override
  public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
      boolean endOfStream) {
    count("DATA");
    dataBytes += data.readableBytes();
    return data.readableBytes() + padding;
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers,
      int padding, boolean endOfStream) {
    count("HEADERS");
    lastAnsweredStream = Math.max(lastAnsweredStream, streamId);
    CharSequence status = headers.status();
    if (status != null && !"200".contentEquals(status)) {
      statuses.merge("HTTP " + status, 1, Integer::sum);
    }
    CharSequence grpcStatus = headers.get("grpc-status");
    if (grpcStatus != null && "0".contentEquals(grpcStatus)) {
      grpcOk++;
    } else if (grpcStatus != null) {
      statuses.merge("grpc-status " + grpcStatus, 1, Integer::sum);
    }
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers,
      int streamDependency, short weight, boolean exclusive, int padding, boolean endOfStream) {
    onHeadersRead(ctx, streamId, headers, padding, endOfStream);
  }

  @Override
  public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
    count("RST_STREAM");
    lastAnsweredStream = Math.max(lastAnsweredStream, streamId);
    rstStreams.merge(errorName(errorCode), 1, Integer::sum);
  }

  @Override
  public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
    count("SETTINGS");
    serverSettingsSeen = true;
    if (peer != null) {
      peer.onServerSettings(settings);
    }
  }

  @Override
  public void onSettingsAckRead(ChannelHandlerContext ctx) {
    count("SETTINGS_ACK");
    settingsAcks++;
  }

  @Override
  public void onPingRead(ChannelHandlerContext ctx, long data) {
    count("PING");
    if (peer != null) {
      peer.onServerPing(data);
    }
  }

  @Override
  public void onPingAckRead(ChannelHandlerContext ctx, long data) {
    count("PING_ACK");
    pingAcks++;
    lastPingAck = data;
  }

  @Override
  public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode,
      ByteBuf debugData) {
    count("GOAWAY");
    goAways.add(new GoAway(lastStreamId, errorCode, debugData.toString(StandardCharsets.UTF_8),
        nowMillis()));
  }

  @Override
  public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {
    count("WINDOW_UPDATE");
  }

  @Override
  public void onPriorityRead(ChannelHandlerContext ctx, int streamId, int streamDependency,
      short weight, boolean exclusive) {
    count("PRIORITY");
  }

  @Override
  public void onPushPromiseRead(ChannelHandlerContext ctx, int streamId, int promisedStreamId,
      Http2Headers headers, int padding) {
    count("PUSH_PROMISE");
  }

  @Override
  public void onUnknownFrame(ChannelHandlerContext ctx, byte frameType, int streamId,
      io.netty.handler.codec.http2.Http2Flags flags, ByteBuf payload) {
    count("UNKNOWN");
  }
}
