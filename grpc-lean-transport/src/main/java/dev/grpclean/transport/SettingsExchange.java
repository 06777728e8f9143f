package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.frame.Settings;
import io.grpc.Status;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The SETTINGS exchange of one {@link Http2Connection} (RFC 9113 §6.5): sends ours and gives the
 * peer {@code settingsAckTimeout} to acknowledge them (else GOAWAY SETTINGS_TIMEOUT); applies the
 * peer's to the header encoder, the writer and every open stream's send window, acknowledges
 * them, and keeps the values the sides' policies read (initial window, concurrency limit).
 *
 * <p>Confined to the connection's loop thread.
 */
final class SettingsExchange {
  private final Http2Connection conn;

  /** Peer's SETTINGS_INITIAL_WINDOW_SIZE: the send window new streams start with. */
  int peerInitialWindowBytes = FrameType.DEFAULT_INITIAL_WINDOW;
  long peerMaxConcurrentStreams = Integer.MAX_VALUE;
  boolean peerSettingsReceived;

  private ScheduledFuture<?> settingsAckTimer;
  /** SETTINGS frames we sent and the peer acknowledged: acks come in order (RFC 9113 §6.5.3). */
  private long localSettingsSent;
  private long localSettingsAcked;

  SettingsExchange(Http2Connection conn) {
    this.conn = conn;
  }

  /** Queues our SETTINGS and starts waiting for their acknowledgement. */
  void sendOurs(Settings settings) {
    send(settings);
    settingsAckTimer = conn.scheduler().schedule(() -> {
      try {
        conn.loop.execute(this::onSettingsAckTimeout);
      } catch (RejectedExecutionException ignored) {
        // The loop is gone, and the connection with it.
      }
    }, conn.config.settingsAckTimeoutNanos, TimeUnit.NANOSECONDS);
  }

  /** Queues a SETTINGS frame of ours; returns its ordinal, which its ack will reach. */
  long send(Settings settings) {
    conn.sendControl(new ControlFrame.SendSettings(settings));
    return ++localSettingsSent;
  }

  /** The peer's SETTINGS: applied, then acknowledged (RFC 9113 §6.5.3). */
  void onSettings(Settings settings) throws Http2ConnectionError {
    if (settings.isSet(Settings.HEADER_TABLE_SIZE)) {
      conn.encoder.setMaxHeaderTableSize(settings.get(Settings.HEADER_TABLE_SIZE));
    }
    if (settings.isSet(Settings.MAX_HEADER_LIST_SIZE)) {
      conn.encoder.setMaxHeaderListSize(settings.get(Settings.MAX_HEADER_LIST_SIZE));
    }
    if (settings.isSet(Settings.MAX_FRAME_SIZE)) {
      conn.writer.setPeerMaxFrameBytes((int) settings.get(Settings.MAX_FRAME_SIZE));
    }
    if (settings.isSet(Settings.INITIAL_WINDOW_SIZE)) {
      int newWindow = (int) settings.get(Settings.INITIAL_WINDOW_SIZE);
      int delta = newWindow - peerInitialWindowBytes;
      peerInitialWindowBytes = newWindow;
      if (delta != 0) {
        StreamRules.applyInitialWindowDelta(conn, delta);
      }
    }
    if (settings.isSet(Settings.MAX_CONCURRENT_STREAMS)) {
      peerMaxConcurrentStreams = settings.get(Settings.MAX_CONCURRENT_STREAMS);
    }
    // RFC 9113 §6.5.3: acknowledge after applying.
    conn.enqueueResponse(ControlFrame.SettingsAck.INSTANCE);
    boolean first = !peerSettingsReceived;
    peerSettingsReceived = true;
    conn.onPeerSettingsApplied(first);
  }

  /** The peer acknowledged our SETTINGS. */
  void onSettingsAck() {
    cancelSettingsAckTimer();
    // RFC 7541 §4.2: our smaller header table applies once the peer has seen it.
    conn.decoder.onLocalSettingsAcked();
    localSettingsAcked++;
    if (conn.connectionBudget != null) {
      conn.connectionBudget.onSettingsAcked(localSettingsAcked);
    }
  }

  void cancelSettingsAckTimer() {
    if (settingsAckTimer != null) {
      settingsAckTimer.cancel(false);
      settingsAckTimer = null;
    }
  }

  private void onSettingsAckTimeout() {
    if (settingsAckTimer != null && !conn.closed) {
      conn.sendGoAwayAndClose(ErrorCode.SETTINGS_TIMEOUT, "SETTINGS not acknowledged in time",
          Status.UNAVAILABLE.withDescription("peer did not acknowledge our SETTINGS"));
    }
  }
}
