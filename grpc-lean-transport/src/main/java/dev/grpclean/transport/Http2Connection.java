package dev.grpclean.transport;

import com.google.common.base.Preconditions;
import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameListener;
import dev.grpclean.transport.frame.FrameReader;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.HeaderBlockDecoder;
import dev.grpclean.transport.frame.HeaderBlockEncoder;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Http2StreamError;
import dev.grpclean.transport.frame.Settings;
import dev.grpclean.transport.io.EventLoop;
import dev.grpclean.transport.spi.HandshakerFactory;
import io.grpc.Status;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What client and server connections share: the frame reader and its dispatch, the loopy writer
 * and flush scheduling, control frames out, DATA in, PING, the memory budget's read pause, and
 * the close that releases everything; over one map of {@link H2Stream}s. Its parts live beside
 * it: {@link StreamRules} (the per-stream HTTP/2 rules), {@link ConnectionFlow} (connection-level
 * flow control and its flood rules), {@link SettingsExchange} (SETTINGS both ways) and
 * {@link ConnectionClosing} (GOAWAY, connection errors, I/O and loop-thread failures). The
 * subclasses hold policy only (stream creation, header rules, GOAWAY handling, pending streams).
 *
 * <p>Bytes come from and go to a {@link SecureSocket} (socket, handshake, record layer), which
 * reads on readiness with a pooled lease and hands up plaintext: every complete frame is parsed
 * in place and dispatched; between reads only the frame reader may keep a partial frame's bytes.
 *
 * <p>Confined to its {@link EventLoop}'s thread: every field below is touched only there, so none
 * needs a lock. Other threads reach the connection by {@link EventLoop#execute}.
 */
abstract class Http2Connection
    implements FrameListener, EventLoop.Handler, LoopyWriter.Output, SecureSocket.Upstream,
    StreamBridge.LoopFailures {
  private static final Logger log = Logger.getLogger(Http2Connection.class.getName());

  /**
   * Whether idle connections hibernate their HPACK state ({@link #sweepIdle}); on unless
   * {@code -Dgrpclean.hibernateIdle=false} (a switch to measure or rule it out, not a tuning knob).
   */
  static final boolean HIBERNATION =
      !"false".equals(System.getProperty("grpclean.hibernateIdle"));

  final EventLoop loop;
  /** The socket and security layer under this connection. */
  final SecureSocket socket;
  final TransportSettings config;
  final HeaderBlockDecoder decoder;
  final HeaderBlockEncoder encoder;
  final LoopyWriter writer;
  /** The frame reader; null while the connection hibernates ({@link #sweepIdle}). */
  FrameReader reader;
  private final boolean isServer;
  /** Always-on counters; written on the loop thread by the code they count. */
  final ConnectionCounters counters;
  /** Every open stream of either side, error streams included; the per-stream rules use it. */
  final StreamMap streams = new StreamMap();
  /** The SETTINGS exchange: ours out, the peer's applied, and the peer's values. */
  final SettingsExchange settings = new SettingsExchange(this);
  /** Connection-level flow control (RFC 9113 §6.9) and its flood rules. */
  final ConnectionFlow connectionFlow;
  /** GOAWAY and close, and what each kind of failure turns into. */
  final ConnectionClosing closing = new ConnectionClosing(this);

  private boolean flushScheduled;
  private final Runnable flushTask = this::flushNow;
  /** Set once HTTP/2 may be spoken (after the security handshake, if any). */
  boolean http2Ready;
  /** Reads or writes happened since the {@link IdleSweeper}'s last look. */
  private boolean activeSinceSweep;
  /** On the sweeper's list (until it hibernates or closes). */
  private boolean sweeperWatching;
  boolean closed;

  /** The memory budget this connection charges, or null (none: no check on any path). */
  @javax.annotation.Nullable final LeanMemoryBudget budget;
  /** This connection's side of {@link #budget} (restricted windows, pause, waker); null if none. */
  @javax.annotation.Nullable final ConnectionBudget connectionBudget;

  Http2Connection(EventLoop loop, SocketChannel channel, TransportSettings config,
      boolean isServer) {
    this.loop = loop;
    this.counters = config.statsGroup.newCounters();
    this.socket = new SecureSocket(channel, this, counters);
    this.config = config;
    this.budget = config.memoryBudget;
    this.connectionBudget = ConnectionBudget.of(this, budget);
    this.connectionFlow =
        new ConnectionFlow(this, config.flowControlWindowBytes);
    this.decoder = new HeaderBlockDecoder(config.maxInboundMetadataBytes,
        TransportSettings.HEADER_TABLE_BYTES);
    this.encoder = new HeaderBlockEncoder();
    this.writer = new LoopyWriter(this, encoder, counters);
    this.isServer = isServer;
    this.reader = newFrameReader();
    config.statsGroup.register(this);
  }

  /** The labels the metrics counted this connection open with; null if not counted. */
  @javax.annotation.Nullable
  java.util.List<String> metricsLabels() {
    return null;
  }

  /** This connection's counters as a snapshot; loop thread (or after close). */
  final LeanConnectionStats statsNow(long nowNanos) {
    LeanConnectionStats.Builder b = LeanConnectionStats.builder(nowNanos);
    counters.addTo(b, nowNanos, closed ? 0 : writer.controlQueueDepth(), !closed);
    b.max(LeanConnectionStats.Figure.PEER_INITIAL_WINDOW_BYTES, settings.peerInitialWindowBytes)
        .max(LeanConnectionStats.Figure.OUR_WINDOW_BYTES, connectionFlow.streamWindowBytes());
    return b.build();
  }

  /** The thread rule of this class, checked where it is cheap (assertions are on in tests). */
  final void assertInLoop() {
    assert loop.inEventLoop() : "not on the connection's loop thread";
  }

  /** Queues our SETTINGS and the initial connection WINDOW_UPDATE. */
  final void sendInitialSettings(Settings ours) {
    settings.sendOurs(ours);
    connectionFlow.openInitialWindow(config.flowControlWindowBytes);
  }

  /** Queues a SETTINGS frame of ours; returns its ordinal, which its ack will reach. */
  final long sendSettings(Settings ours) {
    return settings.send(ours);
  }

  // ---------------------------------------------------------------- reading

  @Override
  public void onReady(SelectionKey key) {
    try {
      socket.onReady(key);
    } catch (Throwable t) {
      onLoopFailure(t);
    }
  }

  /** Registers the socket with the loop for {@code ops}; loop thread. */
  final void register(int ops) throws IOException {
    assertInLoop();
    socket.key = loop.register(socket.channel, ops, this);
  }

  /** Starts the security handshake (if any) on a connected socket, else the HTTP/2 exchange. */
  final void startSecurity(HandshakerFactory factory, String authority) {
    assertInLoop();
    socket.startSecurity(factory, authority);
  }

  /** Client only: the non-blocking connect finished (or failed). */
  void onConnectable() {}

  // What the socket layer reports (SecureSocket.Upstream), routed to the HTTP/2 side.

  @Override
  public final void socketConnectable() {
    onConnectable();
  }

  @Override
  public final void socketWritable() throws IOException {
    closing.onWritable();
  }

  @Override
  public final void socketBytesRead() {
    onBytesRead();
  }

  @Override
  public final void onPlaintext(ByteBuffer plain) throws Http2ConnectionError {
    if (reader == null) {
      reader = newFrameReader(); // woken from hibernation, between frames
      reader.resumeBetweenFrames();
    }
    reader.read(plain);
  }

  private FrameReader newFrameReader() {
    FrameReader r = new FrameReader(this, isServer, FrameType.DEFAULT_MAX_FRAME_SIZE,
        config.maxHeaderBlockBytes(), LeanBuffers.heap());
    if (counters.on) {
      r.countFramesInto(counters.live().framesIn);
    }
    return r;
  }

  @Override
  public final void socketSecured(io.grpc.Attributes securityAttrs,
      io.grpc.InternalChannelz.Security security) {
    http2Ready = true;
    onSecureChannelReady(securityAttrs, security);
  }

  @Override
  public final void socketEndOfInput() {
    onEndOfInput();
  }

  @Override
  public final void socketConnectionError(Http2ConnectionError e) {
    closing.onConnectionError(e);
  }

  @Override
  public final void socketFailed(Status status) {
    closeNow(status);
  }

  /**
   * Flushes what the frames just read queued (acks, window updates, DATA their windows let go),
   * with the loop's batch; nothing when they queued nothing, so that a read does not send early
   * what a stream queued to leave with its own flush (a request's headers before its message).
   */
  @Override
  public void socketReadDone() {
    noteActivity();
    if (!writer.isIdle()) {
      requestFlush();
    }
  }

  /**
   * The channel is ready for HTTP/2 (after the handshake, or at once in plaintext). Subclasses
   * queue the preface/SETTINGS here. {@code securityAttrs} come from the handshake.
   */
  abstract void onSecureChannelReady(io.grpc.Attributes securityAttrs,
      @javax.annotation.Nullable io.grpc.InternalChannelz.Security security);

  /** Called for every successful socket read (keepalive bookkeeping). */
  void onBytesRead() {}

  /** The peer closed its side: no more frames will come. */
  abstract void onEndOfInput();

  // ---------------------------------------------------------------- writing

  /** Flushes the writer once the loop's current batch is done, coalescing all writes of it. */
  final void requestFlush() {
    if (!flushScheduled && !closed) {
      flushScheduled = true;
      loop.runAtEndOfBatch(flushTask);
    }
  }

  private void flushNow() {
    flushScheduled = false;
    if (closed) {
      return;
    }
    noteActivity();
    try {
      writer.flush();
      afterFlush();
    } catch (IOException e) {
      closing.onIoFailure(e);
    } catch (Throwable t) {
      onLoopFailure(t);
    }
  }

  // ---------------------------------------------------------------- hibernation

  /**
   * The connection read or wrote: it is not idle this sweep period, and a hibernated one goes
   * back on its loop's {@link IdleSweeper} list (its HPACK coders wake on their own, lazily).
   */
  final void noteActivity() {
    activeSinceSweep = true;
    if (!sweeperWatching && HIBERNATION && !closed) {
      sweeperWatching = true;
      IdleSweeper.forLoop(loop).watch(this);
    }
  }

  /**
   * The sweeper's question, once per period on the loop thread: returns true to leave its list,
   * when the connection closed or hibernated. It hibernates after a whole period without
   * streams, reads or writes: the HPACK coders are written down as bytes ({@link
   * HeaderBlockDecoder#hibernate}), to be rebuilt by the next header block, the frame reader
   * is dropped, to be rebuilt by the next read, the counters are packed, and the stream map and
   * the writer's queues are dropped, to be made again by the next stream or frame.
   */
  final boolean sweepIdle() {
    if (closed) {
      sweeperWatching = false;
      return true;
    }
    if (activeSinceSweep || !streams.isEmpty() || !writer.isIdle()) {
      activeSinceSweep = false;
      return false;
    }
    if (reader != null && reader.isBetweenFrames()) {
      reader = null; // with its header block assembler and dispatcher; rebuilt on the next read
    }
    boolean asleep = decoder.hibernate() & encoder.hibernate() & reader == null;
    if (asleep) {
      counters.hibernate(); // after the reader, the one holder of its by-type array, is gone
      streams.releaseIfEmpty();
      writer.releaseIdleQueues();
      onHibernate();
      sweeperWatching = false;
      IdleSweeper.countHibernation();
    }
    return asleep;
  }

  /** Hook as the connection hibernates (no streams): the transport drops what it can. */
  void onHibernate() {}

  /** Hook after each flush (graceful close checks whether everything has left). */
  void afterFlush() {}

  @Override
  public boolean write(ByteBuffer buf) throws IOException {
    return socket.write(buf);
  }

  @Override
  public boolean gathers() {
    return socket.gathers();
  }

  @Override
  public boolean write(ByteBuffer[] bufs, int offset, int length) throws IOException {
    return socket.write(bufs, offset, length);
  }

  @Override
  public void setWriteInterest(boolean on) {
    socket.setWriteInterest(on);
  }

  /**
   * Queues a response frame from the read path; a flood of them closes the connection
   * (CVE-2019-9512/9515) through the thrown error.
   */
  final void enqueueResponse(ControlFrame frame) throws Http2ConnectionError {
    if (!writer.enqueue(frame)) {
      throw controlQueueFull();
    }
  }

  /**
   * Queues a control frame and flushes it with the loop's batch: the one way to send one outside
   * the read path. Responses (acks, RST_STREAM) are capped by
   * {@link LoopyWriter#MAX_QUEUED_CONTROL_RESPONSES}; when the cap refuses one, the peer is not
   * reading what we send, and the connection goes away with GOAWAY ENHANCE_YOUR_CALM rather than
   * lose the frame silently (CVE-2019-9514: resets a peer provokes and never reads).
   */
  final void sendControl(ControlFrame frame) {
    if (closed) {
      return;
    }
    assertInLoop();
    if (!writer.enqueue(frame)) {
      closing.onConnectionError(controlQueueFull());
      return;
    }
    requestFlush();
  }

  private static Http2ConnectionError controlQueueFull() {
    return new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM,
        "too many queued control frames: the peer is not reading our responses");
  }

  // ---------------------------------------------------------------- flow control

  /** See {@link ConnectionFlow#returnBytes}. */
  final void returnConnectionBytes(int bytes) {
    connectionFlow.returnBytes(bytes);
  }

  // ---------------------------------------------------------------- stream rules (both sides)

  @Override
  public final void onData(int streamId, ByteBuffer data, int flowControlledBytes,
      boolean endStream) throws Http2ConnectionError, Http2StreamError {
    StreamRules.onData(this, streamId, data, flowControlledBytes, endStream);
  }

  // ---------------------------------------------------------------- memory budget

  /** A new stream's inbound account under the memory budget; null without a budget. */
  @javax.annotation.Nullable
  final BudgetAccount newStreamAccount() {
    return connectionBudget == null ? null : connectionBudget.newStreamAccount();
  }

  /**
   * A new stream's receive window: {@link ConnectionFlow#streamWindowBytes} (configured or grown),
   * or under the memory budget the SETTINGS_INITIAL_WINDOW_SIZE the peer last acknowledged.
   */
  final int localInitialWindowBytes() {
    return connectionBudget == null
        ? connectionFlow.streamWindowBytes() : connectionBudget.initialWindowBytes();
  }

  /**
   * Asks the budget to tell this connection's streams ({@link H2Stream#budgetAvailable}) once it
   * falls below its pressure mark. Any thread; only called with a budget.
   */
  final void awaitBudget() {
    connectionBudget.awaitBudget();
  }

  /**
   * Fails {@code s} to give its held bytes back: the application learns {@code status}, the peer
   * gets RST_STREAM(CANCEL). A server answers with trailers instead where it still can.
   */
  void failForBudget(H2Stream s, Status status) {
    writer.cancel(s.outbound());
    onStreamFailed(s, status);
    sendRst(s.id(), ErrorCode.CANCEL);
  }

  @Override
  public final void onRstStream(int streamId, long errorCode) throws Http2ConnectionError {
    StreamRules.onRstStream(this, streamId, errorCode);
  }

  /** A stream error (RFC 9113 §5.4.2): the stream fails, the peer gets RST_STREAM. */
  @Override
  public void onStreamError(Http2StreamError error) throws Http2ConnectionError {
    StreamRules.onStreamError(this, error);
  }

  /** Queues RST_STREAM for {@code streamId}; see {@link #sendControl}. */
  final void sendRst(int streamId, ErrorCode code) {
    sendControl(new ControlFrame.RstStream(streamId, code));
  }

  /** Whether bytes queued behind the peer's windows passed the cap: that write's stream fails. */
  final boolean queuedBytesCapExceeded() {
    return writer.queuedDataBytes > config.maxQueuedBytesPerConnection;
  }

  /** The status a stream fails with when {@link #queuedBytesCapExceeded}. */
  final Status queuedBytesCapStatus(String peer) {
    return Status.RESOURCE_EXHAUSTED.withDescription("more than "
        + config.maxQueuedBytesPerConnection + " bytes queued behind the " + peer
        + "'s flow-control windows (maxQueuedBytesPerConnection)");
  }

  /**
   * A frame named {@code frameType} arrived for a stream that is not open: throws a connection
   * error if the peer never opened it (idle, RFC 9113 §5.1); returns for a stream that was open
   * before (frames may still be in flight after a reset or END_STREAM).
   */
  abstract void checkNotIdle(int streamId, String frameType) throws Http2ConnectionError;

  /** DATA for a stream that is closed (not idle); its bytes are already returned. */
  void onDataForClosedStream(int streamId) throws Http2StreamError {}

  /** The peer's END_STREAM on {@code s} was delivered. */
  void onRemoteEnd(H2Stream s) {}

  /** The peer reset {@code s} (its output is dropped): report it and remove it. */
  abstract void onPeerReset(H2Stream s, long errorCode) throws Http2ConnectionError;

  /** A stream error failed {@code s} (its output is dropped; the base sends RST_STREAM). */
  abstract void onStreamFailed(H2Stream s, Status status);

  // ---------------------------------------------------------------- connection frames

  @Override
  public void onSettings(Settings peerSettings) throws Http2ConnectionError {
    settings.onSettings(peerSettings);
  }

  /** The peer's SETTINGS were applied and acknowledged. */
  abstract void onPeerSettingsApplied(boolean first) throws Http2ConnectionError;

  /** Timers for this connection (grpc's shared timer service). */
  abstract java.util.concurrent.ScheduledExecutorService scheduler();

  @Override
  public void onSettingsAck() {
    settings.onSettingsAck();
  }

  @Override
  public void onPing(long payload, boolean ack) throws Http2ConnectionError {
    if (ack) {
      counters.pingAckReceived();
      onPingAck(payload);
      return;
    }
    onPingRequest(payload);
    enqueueResponse(new ControlFrame.Ping(true, payload));
  }

  /** The peer pinged us (before the ack is queued): servers enforce their keepalive policy. */
  void onPingRequest(long payload) throws Http2ConnectionError {}

  abstract void onPingAck(long payload);

  @Override
  public void onWindowUpdate(int streamId, int increment)
      throws Http2ConnectionError, Http2StreamError {
    connectionFlow.onWindowUpdate(streamId, increment);
  }

  @Override
  public void onPriority(int streamId, int dependencyStreamId, int weight, boolean exclusive) {
    // Priorities are advisory (RFC 9113 §5.3 deprecates the scheme); round-robin ignores them.
  }

  // ---------------------------------------------------------------- errors and closing

  /** See {@link ConnectionClosing#sendGoAwayAndClose}. */
  final void sendGoAwayAndClose(ErrorCode code, String debug, Status status) {
    closing.sendGoAwayAndClose(code, debug, status);
  }

  /** The highest stream id the peer opened that we processed, for GOAWAY. */
  abstract int lastPeerStreamId();

  /** A throwable escaped transport code on the loop thread: see {@link ConnectionClosing}. */
  @Override
  public final void onLoopFailure(Throwable t) {
    closing.onLoopFailure(t);
  }

  /**
   * Closes the socket now, releases every lease and notifies the subclass, which fails its
   * streams with {@code status}. Idempotent. A step that throws does not stop the others: the
   * streams are always told.
   */
  final void closeNow(Status status) {
    if (closed) {
      return;
    }
    assertInLoop();
    closed = true;
    if (sweeperWatching) {
      sweeperWatching = false;
      IdleSweeper.forLoop(loop).unwatch(this);
    }
    counters.connectionWindowOpened();
    config.statsGroup.retire(this);
    try {
      socket.close();
    } catch (Throwable t) {
      log.log(Level.SEVERE, "socket close failed on " + this, t);
    }
    if (connectionBudget != null) {
      connectionBudget.close();
    }
    try {
      settings.cancelSettingsAckTimer();
      closing.cancelDrainTimer();
      writer.close();
    } catch (Throwable t) {
      log.log(Level.SEVERE, "writer close failed on " + this, t);
    }
    try {
      if (reader != null) {
        reader.release();
      }
    } catch (Throwable t) {
      log.log(Level.SEVERE, "reader release failed on " + this, t);
    }
    Preconditions.checkNotNull(status, "status");
    H2Stream[] open = streams.values().toArray(new H2Stream[0]);
    streams.clear();
    for (H2Stream s : open) {
      s.outbound().discard();
      counters.streamEnded(s.outbound());
      onStreamLost(s, status);
    }
    onClosed(status);
  }

  /** The connection closed under open stream {@code s} (already unregistered): report it. */
  abstract void onStreamLost(H2Stream s, Status status);

  /** The socket is closed, the writer's leases are released and every stream is told: notify. */
  abstract void onClosed(Status status);

  @Override
  public void onHeadersFailed(int streamId, Exception cause) {
    log.log(Level.FINE, "cannot encode headers for stream " + streamId, cause);
    onOutboundHeadersFailed(streamId, Status.INTERNAL
        .withDescription("cannot encode headers: " + cause.getMessage()).withCause(cause));
  }

  abstract void onOutboundHeadersFailed(int streamId, Status status);
}
