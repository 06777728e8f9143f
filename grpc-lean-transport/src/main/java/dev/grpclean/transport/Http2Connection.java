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
import io.netty.util.collection.IntObjectHashMap;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What client and server connections share: the frame reader, the loopy writer, SETTINGS, PING,
 * connection-level flow control, GOAWAY plumbing and the per-stream HTTP/2 rules over one map of
 * {@link H2Stream}s. The subclasses hold policy only (stream creation, header rules, GOAWAY
 * handling, pending streams).
 *
 * <p>Bytes come from and go to a {@link SecureSocket} (socket, handshake, record layer), which
 * reads on readiness with a pooled lease and hands up plaintext: every complete frame is parsed
 * in place and dispatched; between reads only the frame reader may keep a partial frame's bytes.
 *
 * <p>Confined to its {@link EventLoop}'s thread: every field below is touched only there, so none
 * needs a lock. Other threads reach the connection by {@link EventLoop#execute}.
 */
abstract class Http2Connection
    implements FrameListener, EventLoop.Handler, LoopyWriter.Output, SecureSocket.Upstream {
  private static final Logger log = Logger.getLogger(Http2Connection.class.getName());

  /**
   * DATA frames in a row that carry no payload and do not end their stream. Such frames have no
   * use; Netty allows the same ten before it calls the peer abusive.
   */
  static final int MAX_CONSECUTIVE_EMPTY_DATA_FRAMES = 10;
  /** WINDOW_UPDATE frames allowed beyond two per DATA frame we sent (initial window raises). */
  static final int WINDOW_UPDATE_ALLOWANCE = 1000;

  final EventLoop loop;
  /** The socket and security layer under this connection. */
  final SecureSocket socket;
  final TransportSettings config;
  final HeaderBlockDecoder decoder;
  final HeaderBlockEncoder encoder;
  final LoopyWriter writer;
  FrameReader reader;
  /** Always-on counters; written on the loop thread by the code they count. */
  final ConnectionCounters counters;
  /** Every open stream of either side, error streams included; the per-stream rules use it. */
  final IntObjectHashMap<H2Stream> streams = new IntObjectHashMap<>(4);

  /** Peer's SETTINGS_INITIAL_WINDOW_SIZE: the send window new streams start with. */
  int peerInitialWindowBytes = FrameType.DEFAULT_INITIAL_WINDOW;
  long peerMaxConcurrentStreams = Integer.MAX_VALUE;
  boolean peerSettingsReceived;

  /**
   * The connection's receive window (RFC 9113 §6.9): what the peer may still send on the
   * connection, with the same update rule as each stream's. It starts at 65,535 whatever our
   * SETTINGS say (§6.9.2); {@link #sendInitialSettings} raises it to the configured window.
   */
  private final InboundFlow connectionFlow;
  private int emptyDataFrames;
  private long windowUpdatesReceived;

  private java.util.concurrent.ScheduledFuture<?> settingsAckTimer;
  private boolean flushScheduled;
  private final Runnable flushTask = this::flushNow;
  /**
   * A close requested from inside a writer callback (e.g. the last stream finished while its
   * trailers were being framed). It runs once the flush returns, so those frames go out first.
   */
  private Runnable deferredClose;
  /** Set once HTTP/2 may be spoken (after the security handshake, if any). */
  private boolean http2Ready;
  boolean closed;

  /** The memory budget this connection charges, or null (none: no check on any path). */
  @javax.annotation.Nullable final LeanMemoryBudget budget;
  /**
   * Inbound DATA this connection's streams hold under the budget (null without one). Volatile
   * reads of the pause flag below come from the thread that releases the last held byte.
   */
  @javax.annotation.Nullable final BudgetAccount inboundAccount;
  /**
   * Socket reads stopped because the budget is under pressure ({@link #pauseReadsForBudget}).
   * Written on the loop thread; volatile for the account's release callback.
   */
  private volatile boolean readsPausedForBudget;
  private java.util.concurrent.ScheduledFuture<?> budgetStallTimer;
  /** The budget's released total when the stall timer was set: progress shows as a rise. */
  private long releasedAtStallCheck;
  /** A waker is queued on the budget; set by any thread, cleared by the waker. */
  private final java.util.concurrent.atomic.AtomicBoolean budgetWaiterQueued =
      new java.util.concurrent.atomic.AtomicBoolean();
  private final Runnable budgetWaker;

  Http2Connection(EventLoop loop, SocketChannel channel, TransportSettings config,
      boolean isServer) {
    this.loop = loop;
    this.counters = config.statsGroup.newCounters();
    this.socket = new SecureSocket(channel, this, counters);
    this.config = config;
    this.budget = config.memoryBudget;
    this.inboundAccount = budget == null ? null : BudgetAccount.forConnection(budget, () -> {
      if (readsPausedForBudget) {
        loop.executeOrDrop(this::onBudgetAvailable);
      }
    });
    this.budgetWaker = () -> {
      budgetWaiterQueued.set(false);
      loop.executeOrDrop(this::onBudgetAvailable);
    };
    this.connectionFlow =
        new InboundFlow(FrameType.DEFAULT_INITIAL_WINDOW, config.flowControlWindowBytes);
    this.decoder = new HeaderBlockDecoder(config.maxInboundMetadataBytes,
        TransportSettings.HEADER_TABLE_BYTES);
    this.encoder = new HeaderBlockEncoder();
    this.writer = new LoopyWriter(this, encoder, counters);
    this.reader = new FrameReader(this, isServer, FrameType.DEFAULT_MAX_FRAME_SIZE,
        config.maxHeaderBlockBytes(), LeanBuffers.heap());
    if (counters.on) {
      reader.countFramesInto(counters.framesIn);
    }
    config.statsGroup.register(this);
  }

  /** This connection's counters as a snapshot; loop thread (or after close). */
  final LeanConnectionStats statsNow(long nowNanos) {
    LeanConnectionStats.Builder b = LeanConnectionStats.builder(nowNanos);
    counters.addTo(b, nowNanos, closed ? 0 : writer.controlQueueDepth(), !closed);
    b.max(LeanConnectionStats.Figure.PEER_INITIAL_WINDOW_BYTES, peerInitialWindowBytes)
        .max(LeanConnectionStats.Figure.OUR_WINDOW_BYTES, config.flowControlWindowBytes);
    return b.build();
  }

  /** The thread rule of this class, checked where it is cheap (assertions are on in tests). */
  final void assertInLoop() {
    assert loop.inEventLoop() : "not on the connection's loop thread";
  }

  /** Queues our SETTINGS and the initial connection WINDOW_UPDATE. */
  final void sendInitialSettings(Settings settings) {
    sendControl(new ControlFrame.SendSettings(settings));
    settingsAckTimer = scheduler().schedule(() -> {
      try {
        loop.execute(this::onSettingsAckTimeout);
      } catch (java.util.concurrent.RejectedExecutionException ignored) {
        // The loop is gone, and the connection with it.
      }
    }, config.settingsAckTimeoutNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    int target = config.flowControlWindowBytes;
    if (target > FrameType.DEFAULT_INITIAL_WINDOW) {
      int delta = target - FrameType.DEFAULT_INITIAL_WINDOW;
      connectionFlow.grow(delta);
      sendControl(new ControlFrame.WindowUpdate(0, delta));
    }
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
    writer.onWritable();
  }

  @Override
  public final void socketBytesRead() {
    onBytesRead();
  }

  @Override
  public final void onPlaintext(ByteBuffer plain) throws Http2ConnectionError {
    reader.read(plain);
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
    onConnectionError(e);
  }

  @Override
  public final void socketFailed(Status status) {
    closeNow(status);
  }

  @Override
  public final void socketReadDone() {
    requestFlush();
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
    try {
      writer.flush();
      afterFlush();
    } catch (IOException e) {
      onIoFailure(e);
    } catch (Throwable t) {
      onLoopFailure(t);
    }
  }

  private void runDeferredClose() {
    Runnable r = deferredClose;
    deferredClose = null;
    if (r != null && !closed) {
      try {
        r.run();
      } catch (Throwable t) {
        onLoopFailure(t);
      }
    }
  }

  /** Hook after each flush (graceful close checks whether everything has left). */
  void afterFlush() {}

  @Override
  public boolean write(ByteBuffer buf) throws IOException {
    return socket.write(buf);
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
      onConnectionError(controlQueueFull());
      return;
    }
    requestFlush();
  }

  private static Http2ConnectionError controlQueueFull() {
    return new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM,
        "too many queued control frames: the peer is not reading our responses");
  }

  // ---------------------------------------------------------------- flow control

  /**
   * Accounts an inbound DATA frame before its stream sees it: the empty-frame flood rule, then
   * the connection window.
   */
  final void onDataFrame(int payloadBytes, int flowControlledBytes, boolean endStream)
      throws Http2ConnectionError {
    if (payloadBytes > 0) {
      emptyDataFrames = 0;
    } else if (!endStream && ++emptyDataFrames > MAX_CONSECUTIVE_EMPTY_DATA_FRAMES) {
      // CVE-2019-9518: frames that carry nothing cost us a dispatch each and the peer nothing.
      throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "more than "
          + MAX_CONSECUTIVE_EMPTY_DATA_FRAMES + " consecutive DATA frames without payload");
    }
    chargeConnectionWindow(flowControlledBytes);
    if (flowControlledBytes > 0 && connectionFlow.windowBytes() == 0) {
      counters.peerFilledConnectionWindow();
    }
  }

  /** Charges an inbound DATA frame to the connection window (RFC 9113 §6.9.1). */
  private void chargeConnectionWindow(int flowControlledBytes) throws Http2ConnectionError {
    int windowBytes = connectionFlow.windowBytes();
    if (!connectionFlow.tryCharge(flowControlledBytes)) {
      throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR,
          "connection flow-control window exceeded by " + (flowControlledBytes - windowBytes)
              + " bytes");
    }
  }

  /**
   * Returns consumed (or discarded) bytes to the connection window, with a WINDOW_UPDATE by
   * {@link InboundFlow}'s rule, so a slow application bounds what the peer can make us buffer.
   */
  final void returnConnectionBytes(int bytes) {
    if (bytes <= 0 || closed) {
      return;
    }
    int update = connectionFlow.consume(bytes);
    if (update > 0) {
      sendControl(new ControlFrame.WindowUpdate(0, update));
    }
  }

  /**
   * Channelz's view of the connection windows. Read through {@code getStats()}, which runs on
   * the loop thread, so the plain fields are safe to read here.
   */
  final io.grpc.internal.TransportTracer.FlowControlWindows flowControlWindows() {
    return new io.grpc.internal.TransportTracer.FlowControlWindows(
        connectionFlow.windowBytes(), writer.connectionWindowBytes());
  }

  // ---------------------------------------------------------------- stream rules (both sides)

  @Override
  public final void onData(int streamId, ByteBuffer data, int flowControlledBytes,
      boolean endStream) throws Http2ConnectionError, Http2StreamError {
    onDataFrame(data.remaining(), flowControlledBytes, endStream);
    H2Stream s = streams.get(streamId);
    if (s == null || s.isRemoteClosed()) {
      // Nobody will consume these bytes: they go back to the connection window at once.
      returnConnectionBytes(flowControlledBytes);
      if (s != null) {
        throw new Http2StreamError(streamId, ErrorCode.STREAM_CLOSED,
            "DATA after END_STREAM (RFC 9113 §5.1)");
      }
      checkNotIdle(streamId, "DATA");
      onDataForClosedStream(streamId);
      return;
    }
    try {
      s.inbound().charge(streamId, flowControlledBytes);
      if (flowControlledBytes > 0 && s.inbound().windowBytes() == 0) {
        counters.peerFilledStreamWindow();
      }
    } catch (Http2StreamError e) {
      returnConnectionBytes(flowControlledBytes);
      throw e;
    }
    // RFC 9113 §6.1: padding counts against flow control but reaches nobody: consumed now.
    int padding = flowControlledBytes - data.remaining();
    if (padding > 0) {
      s.inbound().consume(padding);
      returnConnectionBytes(padding);
    }
    if (endStream) {
      s.markRemoteClosed();
    }
    int consumed = s.deliverData(data, endStream);
    if (consumed > 0) {
      returnConnectionBytes(consumed);
    }
    if (budget != null && !readsPausedForBudget && budget.isUnderPressure()
        && inboundAccount.heldBytes() > 0) {
      pauseReadsForBudget();
    }
    if (endStream) {
      onRemoteEnd(s);
    }
  }

  // ---------------------------------------------------------------- memory budget

  /**
   * The budget is under pressure and this connection holds inbound bytes nobody consumed yet:
   * stop reading its socket after the current read (the socket layer checks between reads), so
   * the connections that hold memory take no more. Outbound traffic and what is already queued
   * still flow. Resumed by {@link #onBudgetAvailable} once grpc-core has released everything this
   * connection received, or once the budget falls below its pressure mark.
   */
  private void pauseReadsForBudget() {
    readsPausedForBudget = true;
    socket.setReadInterest(false);
    budget.connectionPaused();
    scheduleBudgetStallCheck();
    awaitBudget();
    if (inboundAccount.heldBytes() == 0) {
      // Released on another thread before it could see the pause: nothing will call back.
      loop.executeOrDrop(this::onBudgetAvailable);
    }
  }

  private void resumeReadsForBudget() {
    readsPausedForBudget = false;
    budget.connectionResumed();
    if (budgetStallTimer != null) {
      budgetStallTimer.cancel(false);
      budgetStallTimer = null;
    }
    if (!closed) {
      socket.setReadInterest(true);
    }
  }

  /**
   * How long a paused connection waits for memory to come back before it fails its stream
   * holding the most inbound bytes: 250 ms, many round trips, yet short enough that a stall is
   * broken before peers time out. Without it, connections whose streams each hold part of a
   * message (grpc-core releases a message's bytes only once it is whole) would wait for each
   * other forever.
   */
  static final long BUDGET_STALL_NANOS = 250_000_000L;

  private void scheduleBudgetStallCheck() {
    releasedAtStallCheck = budget.releasedTotalBytes();
    budgetStallTimer = scheduler().schedule(() -> loop.executeOrDrop(this::onBudgetStallCheck),
        BUDGET_STALL_NANOS, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /**
   * Still paused, the budget still under pressure, and less than a sixteenth of it released since
   * the last check: the memory is not coming back by itself. Fail
   * the stream that holds the most received bytes with RESOURCE_EXHAUSTED (RST_STREAM CANCEL to
   * the peer), which gives its bytes back, and check again later. Loop thread.
   */
  private void onBudgetStallCheck() {
    budgetStallTimer = null;
    if (closed || !readsPausedForBudget) {
      return;
    }
    if (!budget.isUnderPressure() || inboundAccount.heldBytes() == 0) {
      onBudgetAvailable();
      return;
    }
    if (budget.releasedTotalBytes() - releasedAtStallCheck >= budget.limitBytes() / 16) {
      // Memory is coming back, only slowly (others' calls complete): not a stall.
      scheduleBudgetStallCheck();
      return;
    }
    H2Stream largest = null;
    long largestBytes = 0;
    for (H2Stream s : streams.values()) {
      BudgetAccount a = s.inboundAccount();
      long held = a == null ? 0 : a.heldBytes();
      if (held > largestBytes) {
        largest = s;
        largestBytes = held;
      }
    }
    if (largest != null) {
      budget.streamReclaimed();
      failForBudget(largest, Status.RESOURCE_EXHAUSTED.withDescription("grpc-lean memory budget"
          + " of " + budget.limitBytes() + " bytes stalled with " + largestBytes
          + " bytes of this call unconsumed (memoryBudget / -D" + LeanMemoryBudget.PROPERTY
          + ")"));
    }
    if (readsPausedForBudget && !closed) {
      scheduleBudgetStallCheck();
    }
  }

  /**
   * Asks the budget to wake this connection ({@link #onBudgetAvailable}) once it falls below its
   * pressure mark; at most one waker is queued. Any thread (streams call it from isReady()).
   */
  final void awaitBudget() {
    if (budgetWaiterQueued.compareAndSet(false, true)) {
      budget.runWhenBelowPressure(budgetWaker);
    }
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

  /**
   * The budget fell below its pressure mark, or this connection's held bytes fell to zero: resume
   * reads and tell blocked writers.
   */
  private void onBudgetAvailable() {
    if (closed) {
      return;
    }
    if (readsPausedForBudget
        && (inboundAccount.heldBytes() == 0 || !budget.isUnderPressure())) {
      resumeReadsForBudget();
    }
    if (budget.isUnderPressure()) {
      // Taken again by others before this ran: wait for the next release.
      awaitBudget();
      return;
    }
    for (H2Stream s : streams.values().toArray(new H2Stream[0])) {
      s.budgetAvailable();
    }
  }

  @Override
  public final void onRstStream(int streamId, long errorCode) throws Http2ConnectionError {
    counters.rstStreamReceived(errorCode);
    H2Stream s = streams.get(streamId);
    if (s == null) {
      // RFC 9113 §6.4: RST_STREAM on an idle stream is a connection error; on a closed one, late.
      checkNotIdle(streamId, "RST_STREAM");
      return;
    }
    writer.cancel(s.outbound());
    onPeerReset(s, errorCode);
  }

  /** A stream error (RFC 9113 §5.4.2): the stream fails, the peer gets RST_STREAM. */
  @Override
  public void onStreamError(Http2StreamError error) throws Http2ConnectionError {
    H2Stream s = streams.get(error.streamId());
    if (s != null) {
      writer.cancel(s.outbound());
      onStreamFailed(s, Status.INTERNAL.withDescription(
          "HTTP/2 stream error " + error.code() + ": " + error.getMessage()));
    }
    sendRst(error.streamId(), error.code());
  }

  /**
   * The application consumed {@code bytes} of {@code s}: they go back to the stream and the
   * connection windows, with a WINDOW_UPDATE once half a window is consumed ({@link InboundFlow}).
   */
  final void onBytesConsumed(H2Stream s, int bytes) {
    if (closed || streams.get(s.id()) != s) {
      // A removed stream's unconsumed bytes went back to the connection window at removal.
      return;
    }
    int before = s.inbound().unconsumedBytes();
    int update = s.inbound().consume(bytes);
    returnConnectionBytes(before - s.inbound().unconsumedBytes());
    if (update > 0 && !s.isRemoteClosed()) {
      sendControl(new ControlFrame.WindowUpdate(s.id(), update));
    }
  }

  /**
   * Takes {@code s} out of the connection: what it received and nobody consumed goes back to the
   * connection window, what it queued is dropped. Returns false if it was not registered.
   */
  final boolean unregister(H2Stream s) {
    if (streams.get(s.id()) != s) {
      return false;
    }
    streams.remove(s.id());
    returnConnectionBytes(s.inbound().takeUnconsumed());
    writer.cancel(s.outbound());
    return true;
  }

  /** We reset {@code s}: its queued output is dropped and the peer gets RST_STREAM. */
  final void resetLocally(H2Stream s, ErrorCode code) {
    if (streams.get(s.id()) == s && !closed) {
      writer.cancel(s.outbound());
      sendRst(s.id(), code);
    }
  }

  /** Queues RST_STREAM for {@code streamId}; see {@link #sendControl}. */
  final void sendRst(int streamId, ErrorCode code) {
    sendControl(new ControlFrame.RstStream(streamId, code));
  }

  /**
   * Whether the bytes queued behind the peer's flow-control windows passed
   * {@code maxQueuedBytesPerConnection}: the write that did it fails its stream.
   */
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
  public void onSettings(Settings settings) throws Http2ConnectionError {
    if (settings.isSet(Settings.HEADER_TABLE_SIZE)) {
      encoder.setMaxHeaderTableSize(settings.get(Settings.HEADER_TABLE_SIZE));
    }
    if (settings.isSet(Settings.MAX_HEADER_LIST_SIZE)) {
      encoder.setMaxHeaderListSize(settings.get(Settings.MAX_HEADER_LIST_SIZE));
    }
    if (settings.isSet(Settings.MAX_FRAME_SIZE)) {
      writer.setPeerMaxFrameBytes((int) settings.get(Settings.MAX_FRAME_SIZE));
    }
    if (settings.isSet(Settings.INITIAL_WINDOW_SIZE)) {
      int newWindow = (int) settings.get(Settings.INITIAL_WINDOW_SIZE);
      int delta = newWindow - peerInitialWindowBytes;
      peerInitialWindowBytes = newWindow;
      if (delta != 0) {
        applyInitialWindowDelta(delta);
      }
    }
    if (settings.isSet(Settings.MAX_CONCURRENT_STREAMS)) {
      peerMaxConcurrentStreams = settings.get(Settings.MAX_CONCURRENT_STREAMS);
    }
    // RFC 9113 §6.5.3: acknowledge after applying.
    enqueueResponse(ControlFrame.SettingsAck.INSTANCE);
    boolean first = !peerSettingsReceived;
    peerSettingsReceived = true;
    onPeerSettingsApplied(first);
  }

  /** §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE change adjusts every open stream's send window. */
  private void applyInitialWindowDelta(int delta) throws Http2ConnectionError {
    for (H2Stream s : streams.values()) {
      if (!writer.updateStreamWindow(s.outbound(), delta)) {
        // RFC 9113 §6.9.2: a change that overflows any stream's window is a connection error.
        throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR,
            "SETTINGS_INITIAL_WINDOW_SIZE overflows stream " + s.id());
      }
    }
    requestFlush();
  }

  /** The peer's SETTINGS were applied and acknowledged. */
  abstract void onPeerSettingsApplied(boolean first) throws Http2ConnectionError;

  /** Timers for this connection (grpc's shared timer service). */
  abstract java.util.concurrent.ScheduledExecutorService scheduler();

  private void cancelSettingsAckTimer() {
    if (settingsAckTimer != null) {
      settingsAckTimer.cancel(false);
      settingsAckTimer = null;
    }
  }

  private void onSettingsAckTimeout() {
    if (settingsAckTimer != null && !closed) {
      sendGoAwayAndClose(ErrorCode.SETTINGS_TIMEOUT, "SETTINGS not acknowledged in time",
          Status.UNAVAILABLE.withDescription("peer did not acknowledge our SETTINGS"));
    }
  }

  @Override
  public void onSettingsAck() {
    cancelSettingsAckTimer();
    // RFC 7541 §4.2: our smaller header table applies once the peer has seen it.
    decoder.onLocalSettingsAcked();
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
    if (++windowUpdatesReceived > 2 * writer.dataFramesWritten() + WINDOW_UPDATE_ALLOWANCE) {
      // A peer acknowledges our DATA with at most a stream and a connection update per frame;
      // a stream of updates answering nothing is a flood that only costs us.
      throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "WINDOW_UPDATE flood: "
          + windowUpdatesReceived + " frames for " + writer.dataFramesWritten()
          + " DATA frames sent");
    }
    if (streamId == 0) {
      if (!writer.updateConnectionWindow(increment)) {
        // RFC 9113 §6.9.1: a window above 2^31-1 is a FLOW_CONTROL_ERROR.
        throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR,
            "connection window overflow");
      }
      requestFlush();
      return;
    }
    H2Stream s = streams.get(streamId);
    if (s == null) {
      checkNotIdle(streamId, "WINDOW_UPDATE");
      return;
    }
    if (!writer.updateStreamWindow(s.outbound(), increment)) {
      throw new Http2StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR,
          "stream window overflow (RFC 9113 §6.9.1)");
    }
    requestFlush();
  }

  @Override
  public void onPriority(int streamId, int dependencyStreamId, int weight, boolean exclusive) {
    // Priorities are advisory (RFC 9113 §5.3 deprecates the scheme); round-robin ignores them.
  }

  // ---------------------------------------------------------------- errors and closing

  /** A connection error: GOAWAY with its code, then close (§5.4.1). */
  final void onConnectionError(Http2ConnectionError e) {
    if (closed) {
      return;
    }
    log.log(Level.FINE, "connection error " + e.code() + " on " + this, e);
    Status status = statusForConnectionError(e);
    sendGoAwayAndClose(e.code(), e.getMessage(), status);
  }

  static Status statusForConnectionError(Http2ConnectionError e) {
    Status status = e.code() == ErrorCode.NO_ERROR
        ? Status.UNAVAILABLE
        : io.grpc.internal.GrpcUtil.Http2Error.statusForCode(e.code().code());
    return status.withDescription("HTTP/2 connection error " + e.code() + ": " + e.getMessage())
        .withCause(e.getCause());
  }

  /** Writes a final GOAWAY (best effort, one write) and closes the socket. */
  final void sendGoAwayAndClose(ErrorCode code, String debug, Status status) {
    if (closed) {
      return;
    }
    if (!http2Ready) {
      // Before (or during) the security handshake no HTTP/2 frame may be sent: a bare close.
      closeNow(status);
      return;
    }
    if (writer.isFlushing()) {
      if (deferredClose == null) {
        deferredClose = () -> sendGoAwayAndClose(code, debug, status);
        loop.runAtEndOfBatch(this::runDeferredClose);
      }
      return;
    }
    byte[] debugData = debug == null ? new byte[0] : debug.getBytes(StandardCharsets.UTF_8);
    if (debugData.length > 256) {
      debugData = java.util.Arrays.copyOf(debugData, 256);
    }
    // GOAWAY is not a capped response: the queue always takes it.
    sendControl(new ControlFrame.GoAway(lastPeerStreamId(), code, debugData));
    try {
      writer.flush();
      if (!writer.isBlocked()) {
        socket.sendCloseNotifyIfDrained();
      }
    } catch (IOException ignored) {
      // Closing anyway.
    }
    closeNow(status);
  }

  /** The highest stream id the peer opened that we processed, for GOAWAY. */
  abstract int lastPeerStreamId();

  final void onIoFailure(IOException e) {
    if (closed) {
      return;
    }
    log.log(Level.FINE, "I/O failure on " + this, e);
    closeNow(SecureSocket.ioFailure(e));
  }

  /**
   * A throwable the transport did not expect escaped its code on the loop thread: a bug, a
   * {@link LinkageError} from a mismatched library (e.g. an older Netty on the class path), a
   * {@link StackOverflowError}... The connection's state is unknown from here, so it fails as a
   * whole and at once (a GOAWAY if HTTP/2 is up and can still be written, then close): its
   * streams end INTERNAL naming the throwable instead of waiting for their deadlines, its leases
   * return, and the loop thread goes on serving its other connections. A
   * {@link VirtualMachineError} is logged SEVERE like the rest, never swallowed silently.
   */
  final void onLoopFailure(Throwable t) {
    log.log(Level.SEVERE, "transport failure on " + this + "; closing the connection", t);
    if (closed) {
      return;
    }
    Status status = Status.INTERNAL
        .withDescription("transport failure on the connection's loop thread: " + t)
        .withCause(t);
    try {
      sendGoAwayAndClose(ErrorCode.INTERNAL_ERROR, t.toString(), status);
    } catch (Throwable again) {
      // The GOAWAY's write path is what failed (e.g. the header encoder): a bare close. Not
      // added as suppressed: the JVM may throw one preallocated instance twice.
      log.log(Level.FINE, "no GOAWAY after the transport failure on " + this, again);
    }
    // sendGoAwayAndClose may defer while the writer is flushing; a broken connection does not
    // wait for that.
    closeNow(status);
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
    counters.connectionWindowOpened();
    config.statsGroup.retire(this);
    try {
      socket.close();
    } catch (Throwable t) {
      log.log(Level.SEVERE, "socket close failed on " + this, t);
    }
    if (readsPausedForBudget) {
      readsPausedForBudget = false;
      budget.connectionResumed();
    }
    if (budgetStallTimer != null) {
      budgetStallTimer.cancel(false);
      budgetStallTimer = null;
    }
    try {
      cancelSettingsAckTimer();
      writer.close();
    } catch (Throwable t) {
      log.log(Level.SEVERE, "writer close failed on " + this, t);
    }
    try {
      reader.release();
    } catch (Throwable t) {
      log.log(Level.SEVERE, "reader release failed on " + this, t);
    }
    Preconditions.checkNotNull(status, "status");
    H2Stream[] open = streams.values().toArray(new H2Stream[0]);
    streams.clear();
    for (H2Stream s : open) {
      s.outbound().discard();
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
