package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.FrameType;
import dev.grpclean.transport.frame.FrameWriter;
import dev.grpclean.transport.frame.Settings;
import java.nio.ByteBuffer;

/**
 * A small command for the {@link LoopyWriter}'s control queue: one non-DATA frame, encoded only
 * when the writer drains it. Headers are the queue's other kind of item
 * ({@link LoopyWriter.HeadersFrame}) because HPACK encoding must happen in wire order.
 *
 * <p>Immutable; created on any thread, written on the connection's loop thread.
 */
abstract sealed class ControlFrame implements LoopyWriter.QueuedItem {
  /** Whether this frame answers the peer (an ack or a reset): those are capped against floods. */
  boolean isResponse() {
    return false;
  }

  /** Exact number of bytes {@link #write} will put. */
  abstract int sizeBytes();

  abstract void write(ByteBuffer out);

  static final class SendSettings extends ControlFrame {
    private final Settings settings;

    SendSettings(Settings settings) {
      this.settings = settings;
    }

    @Override
    int sizeBytes() {
      return FrameWriter.settingsBytes(settings);
    }

    @Override
    void write(ByteBuffer out) {
      FrameWriter.writeSettings(out, settings);
    }
  }

  static final class SettingsAck extends ControlFrame {
    static final SettingsAck INSTANCE = new SettingsAck();

    @Override
    boolean isResponse() {
      return true;
    }

    @Override
    int sizeBytes() {
      return FrameType.FRAME_HEADER_BYTES;
    }

    @Override
    void write(ByteBuffer out) {
      FrameWriter.writeSettingsAck(out);
    }
  }

  static final class Ping extends ControlFrame {
    private final boolean ack;
    private final long payload;

    Ping(boolean ack, long payload) {
      this.ack = ack;
      this.payload = payload;
    }

    @Override
    boolean isResponse() {
      return ack;
    }

    @Override
    int sizeBytes() {
      return FrameType.FRAME_HEADER_BYTES + 8;
    }

    @Override
    void write(ByteBuffer out) {
      FrameWriter.writePing(out, ack, payload);
    }
  }

  static final class WindowUpdate extends ControlFrame {
    private final int streamId;
    private final int increment;

    WindowUpdate(int streamId, int increment) {
      this.streamId = streamId;
      this.increment = increment;
    }

    @Override
    int sizeBytes() {
      return FrameType.FRAME_HEADER_BYTES + 4;
    }

    @Override
    void write(ByteBuffer out) {
      FrameWriter.writeWindowUpdate(out, streamId, increment);
    }
  }

  static final class RstStream extends ControlFrame {
    private final int streamId;
    private final ErrorCode code;

    RstStream(int streamId, ErrorCode code) {
      this.streamId = streamId;
      this.code = code;
    }

    @Override
    boolean isResponse() {
      return true;
    }

    @Override
    int sizeBytes() {
      return FrameType.FRAME_HEADER_BYTES + 4;
    }

    @Override
    void write(ByteBuffer out) {
      FrameWriter.writeRstStream(out, streamId, code);
    }
  }

  static final class GoAway extends ControlFrame {
    private final int lastStreamId;
    private final ErrorCode code;
    private final byte[] debugData;

    GoAway(int lastStreamId, ErrorCode code, byte[] debugData) {
      this.lastStreamId = lastStreamId;
      this.code = code;
      this.debugData = debugData;
    }

    @Override
    int sizeBytes() {
      return FrameWriter.goAwayBytes(debugData);
    }

    @Override
    void write(ByteBuffer out) {
      FrameWriter.writeGoAway(out, lastStreamId, code, debugData);
    }
  }

  /** Raw bytes written as they are: the client connection preface. */
  static final class RawBytes extends ControlFrame {
    private final byte[] bytes;

    RawBytes(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    int sizeBytes() {
      return bytes.length;
    }

    @Override
    void write(ByteBuffer out) {
      out.put(bytes);
    }
  }
}
