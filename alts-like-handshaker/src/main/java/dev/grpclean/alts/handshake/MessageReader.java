package dev.grpclean.alts.handshake;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.annotation.Nullable;

/**
 * Reassembles one framed handshake message from however the bytes arrive, consuming nothing past
 * its end, so bytes that follow the handshake stay with the caller.
 *
 * <p>Holds at most one message (the caller's limit) in a heap array sized to the
 * bytes received, and nothing once the message is returned.
 *
 * <p>Thread-compatible.
 */
final class MessageReader {
  private static final byte[] HTTP2_PREFACE_START = "PRI ".getBytes(StandardCharsets.US_ASCII);
  private static final int TLS_HANDSHAKE_RECORD = 0x16;

  private byte[] buf = new byte[0];
  private int have;
  private int messageBytes = -1;

  /**
   * Consumes bytes of the current message from {@code in}.
   *
   * @return the whole message (length field included) once complete, else null
   */
  @Nullable
  byte[] read(ByteBuffer in, int maxMessageBytes) throws HandshakeException {
    if (messageBytes < 0) {
      take(in, Messages.LENGTH_BYTES - have);
      if (have < Messages.LENGTH_BYTES) {
        return null;
      }
      messageBytes = checkLength(buf, maxMessageBytes);
    }
    take(in, messageBytes - have);
    if (have < messageBytes) {
      return null;
    }
    byte[] message = buf;
    buf = new byte[0];
    have = 0;
    messageBytes = -1;
    return message;
  }

  int pendingBytes() {
    return have;
  }

  private void take(ByteBuffer in, int wanted) {
    int n = Math.min(wanted, in.remaining());
    if (n <= 0) {
      return;
    }
    if (buf.length < have + n) {
      buf = Arrays.copyOf(buf, messageBytes < 0 ? Messages.LENGTH_BYTES : messageBytes);
    }
    in.get(buf, have, n);
    have += n;
  }

  private static int checkLength(byte[] header, int maxMessageBytes) throws HandshakeException {
    long length = Messages.getIntLe(header, 0) & 0xffffffffL;
    long messageBytes = Messages.LENGTH_BYTES + length;
    if (messageBytes > maxMessageBytes || length < Messages.TYPE_BYTES) {
      // Only a length that fails anyway is read as another protocol's first bytes: a valid
      // length can look like one (790 encodes as 16 03 00 00, a TLS record's start), while
      // every real TLS record header (16 03 0x with x >= 1) and the HTTP/2 preface ("PRI ")
      // reads as a length far over any limit.
      if (Arrays.equals(header, 0, 4, HTTP2_PREFACE_START, 0, 4)) {
        throw new HandshakeException("peer sent an HTTP/2 preface instead of an ALTS-like"
            + " handshake: is it using plaintext?");
      }
      if (header[0] == TLS_HANDSHAKE_RECORD && header[1] == 3) {
        throw new HandshakeException(
            "peer sent a TLS record instead of an ALTS-like handshake: is it using TLS?");
      }
    }
    if (messageBytes > maxMessageBytes) {
      throw new HandshakeException("handshake message of " + messageBytes
          + " bytes exceeds the limit of " + maxMessageBytes + " bytes");
    }
    if (length < Messages.TYPE_BYTES) {
      throw new HandshakeException("handshake message length " + length + " is too short");
    }
    return (int) messageBytes;
  }
}
