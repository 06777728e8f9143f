package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2ConnectionError;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.HandshakerFactory;
import dev.grpclean.transport.spi.RecordProtector;
import io.grpc.Attributes;
import io.grpc.InternalChannelz;
import io.grpc.Status;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.security.GeneralSecurityException;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;

/**
 * The byte layer under one HTTP/2 connection: the socket, the security handshake and the record
 * layer. The HTTP/2 code above ({@link Http2Connection}) sees plaintext only, never a record.
 *
 * <p>Reading is read-on-ready: when the poller reports the socket readable, one buffer is leased
 * from the I/O pool, the socket is read until it would block or {@link #MAX_READS_PER_TURN} reads
 * are done, each read goes through the handshake or the record layer, the plaintext goes up
 * ({@link Upstream#onPlaintext}), and the lease goes back. Between reads nothing is leased here;
 * only a partial record may keep its own bytes (in the {@link RecordProtector}).
 *
 * <p>Writing: plaintext is sealed into records (after a handshake) and written; bytes the socket
 * does not take are kept in one lease ({@link #unsentRaw}) until it is writable again.
 *
 * <p>Confined to the connection's loop thread.
 */
final class SecureSocket {
  /**
   * The connection's logger, not one of its own: a connection's security failures and read-path
   * bugs are logged where operators (and the ALTS-like tests) watch its HTTP/2 errors.
   */
  private static final Logger log = Logger.getLogger(Http2Connection.class.getName());

  /**
   * Read lease size. 64 KiB takes several max-size frames per syscall on bulk transfers; the
   * lease lives only for one readiness event, so its size does not cost idle memory.
   */
  static final int READ_BUFFER_BYTES = 64 * 1024;
  /** Reads per readiness event before yielding to other connections on the loop (fairness). */
  static final int MAX_READS_PER_TURN = 16;

  /**
   * The HTTP/2 connection above the socket, also the record layer's plaintext sink. Called on the
   * loop thread.
   */
  interface Upstream extends RecordProtector.PlaintextSink {
    /** Client only: the non-blocking connect finished (or failed). */
    void socketConnectable();

    /** Pending raw bytes have left: the writer may go on. */
    void socketWritable() throws IOException;

    /** A socket read returned bytes (keepalive bookkeeping). */
    void socketBytesRead();

    /** Plaintext HTTP/2 bytes, borrowed for the call. */
    @Override
    void onPlaintext(ByteBuffer plain) throws Http2ConnectionError;

    /** HTTP/2 may be spoken: after the handshake, or at once in plaintext. */
    void socketSecured(Attributes securityAttrs, @Nullable InternalChannelz.Security security);

    /** The peer closed its side: no more bytes will come. */
    void socketEndOfInput();

    /** An HTTP/2 connection error while reading: GOAWAY, then close. */
    void socketConnectionError(Http2ConnectionError e);

    /** The socket or the security layer failed: close without HTTP/2. */
    void socketFailed(Status status);

    /** A readiness event's reads are done: flush what they produced. */
    void socketReadDone();
  }

  final SocketChannel channel;
  private final Upstream upstream;
  /** The connection's counters: reads, writes and the time the socket refused bytes. */
  private final ConnectionCounters counters;
  SelectionKey key;
  /** Non-null from connect until the security handshake completes. */
  private Handshaker handshaker;
  /** Non-null after a security handshake: seals writes, opens reads. */
  private RecordProtector protector;
  /**
   * Bytes already sealed (or handshake bytes) that the socket did not take yet: a lease held
   * only until the socket is writable again.
   */
  private ByteBuffer unsentRaw;
  private boolean closed;
  /** Reads are paused ({@link #setReadInterest}); checked between the reads of one event. */
  private boolean readsOff;

  SecureSocket(SocketChannel channel, Upstream upstream, ConnectionCounters counters) {
    this.channel = channel;
    this.upstream = upstream;
    this.counters = counters;
  }

  // ---------------------------------------------------------------- reading

  /** The poller's readiness event for this socket. */
  void onReady(SelectionKey key) {
    if (!key.isValid()) {
      return;
    }
    int ops = key.readyOps();
    if ((ops & SelectionKey.OP_CONNECT) != 0) {
      upstream.socketConnectable();
      if (closed || !key.isValid()) {
        return;
      }
    }
    if ((ops & SelectionKey.OP_WRITE) != 0) {
      try {
        if (unsentRaw == null || drainUnsentRaw()) {
          upstream.socketWritable();
        }
      } catch (IOException e) {
        upstream.socketFailed(ioFailure(e));
        return;
      }
    }
    if ((ops & SelectionKey.OP_READ) != 0) {
      onReadable();
    }
  }

  private void onReadable() {
    counters.readable();
    ByteBuffer buf = LeanBuffers.leaseIo(READ_BUFFER_BYTES);
    try {
      for (int i = 0; i < MAX_READS_PER_TURN && !closed && !readsOff; i++) {
        buf.clear();
        int n = channel.read(buf);
        counters.readSyscall(n);
        if (n < 0) {
          upstream.socketEndOfInput();
          return;
        }
        if (n == 0) {
          break;
        }
        buf.flip();
        upstream.socketBytesRead();
        consume(buf);
        counters.readConsumed();
        if (buf.limit() < buf.capacity()) {
          // A short read means the socket is drained; skip the read that would return 0.
          break;
        }
      }
    } catch (Http2ConnectionError e) {
      upstream.socketConnectionError(e);
    } catch (IOException e) {
      upstream.socketFailed(ioFailure(e));
    } catch (SecurityFailure e) {
      onSecurityFailure(e.getCause());
    } catch (RuntimeException e) {
      log.log(Level.WARNING, "bug while reading " + upstream, e);
      upstream.socketConnectionError(
          new Http2ConnectionError(ErrorCode.INTERNAL_ERROR, e.toString(), e));
    } finally {
      LeanBuffers.releaseIo(buf);
    }
    upstream.socketReadDone();
    counters.readableDone();
  }

  /** Routes freshly read bytes: handshake, then record layer, then upstream. */
  private void consume(ByteBuffer buf) throws Http2ConnectionError, IOException, SecurityFailure {
    if (handshaker != null) {
      boolean done;
      ByteBuffer out = LeanBuffers.leaseIo(handshaker.maxOutputBytes());
      try {
        try {
          done = handshaker.onBytes(buf, out);
        } catch (Exception e) {
          sendFinalBytes(out);
          throw new SecurityFailure(e);
        }
        out.flip();
        writeRaw(out, false);
      } finally {
        if (out != unsentRaw) {
          LeanBuffers.releaseIo(out);
        }
      }
      if (!done) {
        return;
      }
      completeHandshake();
      if (closed) {
        return;
      }
    }
    if (protector == null) {
      upstream.onPlaintext(buf);
      return;
    }
    try {
      protector.unprotect(buf, upstream);
    } catch (Http2ConnectionError | IOException e) {
      throw e;
    } catch (Exception e) {
      throw new SecurityFailure(e);
    }
  }

  // ---------------------------------------------------------------- handshake

  /** Starts the security handshake (if any) on a connected socket, else secures at once. */
  void startSecurity(@Nullable HandshakerFactory factory, @Nullable String authority) {
    if (factory == null) {
      upstream.socketSecured(Attributes.EMPTY, null);
      return;
    }
    SocketAddress remote = null;
    try {
      remote = channel.getRemoteAddress();
    } catch (IOException ignored) {
      // unknown
    }
    handshaker = factory.newHandshaker(authority, remote);
    ByteBuffer out = LeanBuffers.leaseIo(handshaker.maxOutputBytes());
    try {
      try {
        handshaker.start(out);
      } catch (Exception e) {
        sendFinalBytes(out);
        onSecurityFailure(e);
        return;
      }
      out.flip();
      writeRaw(out, false);
    } catch (IOException e) {
      upstream.socketFailed(ioFailure(e));
    } finally {
      if (out != unsentRaw) {
        LeanBuffers.releaseIo(out);
      }
    }
  }

  /**
   * A failing handshaker may have left a last flight in {@code out} (a TLS alert that tells the
   * peer why): one best-effort, non-blocking write before the connection closes.
   */
  private void sendFinalBytes(ByteBuffer out) {
    out.flip();
    if (out.hasRemaining() && unsentRaw == null) {
      try {
        channel.write(out);
      } catch (IOException ignored) {
        // The connection is being closed for the handshake failure anyway.
      }
    }
  }

  private void completeHandshake() {
    Handshaker h = handshaker;
    handshaker = null;
    protector = h.protector();
    upstream.socketSecured(h.attributes(), h.security());
  }

  /** The handshake or the record layer failed: close without HTTP/2 (no GOAWAY possible). */
  private void onSecurityFailure(Throwable cause) {
    if (closed) {
      return;
    }
    log.log(Level.FINE, "security failure on " + upstream, cause);
    String what = protector == null ? "security handshake failed: " : "record layer failure: ";
    upstream.socketFailed(
        Status.UNAVAILABLE.withDescription(what + cause.getMessage()).withCause(cause));
  }

  /** Wraps a handshake or record failure on its way out of the read path. */
  private static final class SecurityFailure extends Exception {
    private static final long serialVersionUID = 1L;

    SecurityFailure(Throwable cause) {
      super(cause);
    }
  }

  static Status ioFailure(IOException e) {
    return Status.UNAVAILABLE.withDescription("connection I/O failed: " + e.getMessage())
        .withCause(e);
  }

  // ---------------------------------------------------------------- writing

  /**
   * Seals (after a handshake) and writes {@code buf}, which the caller keeps; returns whether the
   * socket took everything. Sealed bytes the socket refuses wait in {@link #unsentRaw}.
   */
  boolean write(ByteBuffer buf) throws IOException {
    if (unsentRaw != null && !drainUnsentRaw()) {
      return false;
    }
    if (protector == null) {
      return writeFully(buf);
    }
    if (!buf.hasRemaining()) {
      return true;
    }
    ByteBuffer sealed = LeanBuffers.leaseIo(protector.maxProtectedBytes(buf.remaining()));
    try {
      protector.protect(buf, sealed);
    } catch (GeneralSecurityException e) {
      LeanBuffers.releaseIo(sealed);
      throw new IOException("cannot seal record: " + e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      // A record layer bug (or a LinkageError): the connection fails above; the lease returns.
      LeanBuffers.releaseIo(sealed);
      throw e;
    }
    sealed.flip();
    return writeRaw(sealed, true);
  }

  /**
   * Whether {@link #write(ByteBuffer[], int, int)} writes straight to the socket: plaintext, no
   * handshake under way and no record layer.
   */
  boolean gathers() {
    return handshaker == null && protector == null;
  }

  /**
   * A gathering write of plaintext bytes ({@link #gathers()} only); the caller keeps the buffers.
   * Returns whether the socket took all of them; the buffers' positions show how far it got.
   */
  boolean write(ByteBuffer[] bufs, int offset, int length) throws IOException {
    if (!gathers()) {
      throw new IllegalStateException("gathering write on a secured socket");
    }
    if (unsentRaw != null && !drainUnsentRaw()) {
      return false;
    }
    int end = offset + length;
    while (offset < end) {
      long n = channel.write(bufs, offset, end - offset);
      counters.wrote((int) Math.min(Integer.MAX_VALUE, n));
      while (offset < end && !bufs[offset].hasRemaining()) {
        offset++;
      }
      if (n == 0 && offset < end) {
        return false;
      }
    }
    return true;
  }

  /**
   * Writes bytes that need no (more) sealing. If the socket takes only part, {@code lease} is
   * kept as {@link #unsentRaw} until writable and released then. Otherwise it is released here
   * if {@code owned}, else left to the caller.
   */
  private boolean writeRaw(ByteBuffer lease, boolean owned) throws IOException {
    if (unsentRaw != null) {
      throw new IllegalStateException("raw bytes already pending");
    }
    boolean written;
    try {
      written = writeFully(lease);
    } catch (IOException e) {
      // Not kept as unsentRaw, so close will not see it: release an owned lease here.
      if (owned) {
        LeanBuffers.releaseIo(lease);
      }
      throw e;
    }
    if (written) {
      if (owned) {
        LeanBuffers.releaseIo(lease);
      }
      return true;
    }
    unsentRaw = lease;
    setWriteInterest(true);
    return false;
  }

  /** Retries bytes the socket refused earlier. */
  private boolean drainUnsentRaw() throws IOException {
    if (!writeFully(unsentRaw)) {
      return false;
    }
    LeanBuffers.releaseIo(unsentRaw);
    unsentRaw = null;
    return true;
  }

  private boolean writeFully(ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      int n = channel.write(buf);
      counters.wrote(n);
      if (n == 0) {
        return false;
      }
    }
    return true;
  }

  /** Turns interest in writability on or off. */
  /**
   * Turns interest in readability on or off (the memory budget pauses a connection's reads). While
   * off, a readiness event in progress stops after the read it is on.
   */
  void setReadInterest(boolean on) {
    readsOff = !on;
    if (key == null || !key.isValid()) {
      return;
    }
    int ops = key.interestOps();
    key.interestOps(on ? ops | SelectionKey.OP_READ : ops & ~SelectionKey.OP_READ);
  }

  void setWriteInterest(boolean on) {
    if (key == null || !key.isValid()) {
      return;
    }
    counters.writeInterest(on);
    int ops = key.interestOps();
    key.interestOps(on ? ops | SelectionKey.OP_WRITE : ops & ~SelectionKey.OP_WRITE);
  }

  // ---------------------------------------------------------------- closing

  /**
   * After the final GOAWAY left in full: the record layer's end of stream (TLS close_notify,
   * RFC 8446 §6.1), one best-effort, non-blocking write, so the peer can tell a close from a
   * truncation. Skipped while sealed bytes still wait for the socket (they would be reordered)
   * and when the record layer has no such message.
   */
  void sendCloseNotifyIfDrained() throws IOException {
    int room = protector == null || unsentRaw != null ? 0 : protector.maxCloseBytes();
    if (room == 0) {
      return;
    }
    ByteBuffer out = LeanBuffers.leaseIo(room);
    try {
      protector.closeOutbound(out);
      out.flip();
      if (out.hasRemaining()) {
        channel.write(out);
      }
    } catch (GeneralSecurityException e) {
      log.log(Level.FINE, "no close_notify on " + upstream, e);
    } finally {
      LeanBuffers.releaseIo(out);
    }
  }

  /** Closes the socket and releases every lease and key the layer holds. Idempotent. */
  void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (key != null) {
      key.cancel();
    }
    try {
      channel.close();
    } catch (IOException e) {
      log.log(Level.FINE, "close failed", e);
    }
    if (unsentRaw != null) {
      LeanBuffers.releaseIo(unsentRaw);
      unsentRaw = null;
    }
    if (handshaker != null) {
      handshaker.close();
      handshaker = null;
    }
    if (protector != null) {
      protector.release();
    }
  }
}
