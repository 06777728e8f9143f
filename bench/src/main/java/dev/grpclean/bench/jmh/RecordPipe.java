package dev.grpclean.bench.jmh;

import dev.grpclean.alts.record.AltsRecordProtector;
import dev.grpclean.alts.record.RecordProtocol;
import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
import dev.grpclean.transport.spi.RecordProtector;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Random;

/**
 * A loopback {@link SocketChannel} pair with a record protector on each end, driven from one
 * thread the way {@code Http2Connection} drives a connection:
 * <ul>
 *   <li>write: the plaintext comes in a 64 KiB I/O lease (the writer's flush buffer); a second
 *       lease of {@code maxProtectedBytes} takes the sealed bytes, is written to the socket and
 *       released (kept only while the socket refuses bytes, as {@code unsentRaw});
 *   <li>read: one 64 KiB I/O lease per readiness turn, up to 16 reads, each unprotected into a
 *       sink (the frame reader's place), released after the turn.
 * </ul>
 * Both channels are non-blocking; when the sending socket is full the receiving side is drained
 * (opened or raw, as the benchmark says) so one thread never deadlocks.
 *
 * <p>Security {@code alts_rekey}: {@link AltsRecordProtector} with ALTSRP_GCM_AES128_REKEY, 4 KiB
 * outbound records and a 1 MiB inbound limit (the ALTS defaults). {@code plain}: {@link
 * PassThroughProtector}.
 */
final class RecordPipe implements AutoCloseable {
  /** {@code SecureSocket.READ_BUFFER_BYTES}. */
  static final int READ_BUFFER_BYTES = 64 * 1024;
  /** {@code SecureSocket.MAX_READS_PER_TURN}. */
  static final int MAX_READS_PER_TURN = 16;
  /** {@code WriteBatch.WRITE_BUFFER_BYTES}. */
  static final int WRITE_BUFFER_BYTES = 64 * 1024;

  final String security;
  final BufferPool io = Pools.io();
  final SocketChannel sender;
  final SocketChannel receiver;
  final RecordProtector sealer;
  RecordProtector opener;
  private final byte[] clientToServerKey;
  private final byte[] serverToClientKey;
  /** Scratch for raw drains (write-only benchmarks): made once, not a per-op allocation. */
  private final ByteBuffer drainScratch = ByteBuffer.allocateDirect(READ_BUFFER_BYTES);

  /** Plaintext bytes the receiving sink has seen. */
  long plaintextReceived;
  /** Folded from the plaintext, so opening cannot be optimised away. */
  int checksum;
  private final RecordProtector.PlaintextSink sink = plaintext -> {
    int n = plaintext.remaining();
    plaintextReceived += n;
    checksum += plaintext.get(plaintext.position()) + plaintext.get(plaintext.limit() - 1);
    plaintext.position(plaintext.limit());
  };

  RecordPipe(String security) throws IOException {
    this.security = security;
    Random random = new Random(42);
    int keyBytes = RecordProtocol.AES_128_GCM_REKEY.keyBytes();
    clientToServerKey = new byte[keyBytes];
    serverToClientKey = new byte[keyBytes];
    random.nextBytes(clientToServerKey);
    random.nextBytes(serverToClientKey);
    sealer = newProtector(true);
    opener = newProtector(false);
    try (ServerSocketChannel listener = ServerSocketChannel.open()) {
      listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      sender = SocketChannel.open(listener.getLocalAddress());
      receiver = listener.accept();
    }
    for (SocketChannel c : new SocketChannel[] {sender, receiver}) {
      c.setOption(StandardSocketOptions.TCP_NODELAY, true);
      c.configureBlocking(false);
    }
    if (sealer instanceof AltsRecordProtector) {
      System.err.println("# record layer: " + sealer);
    }
  }

  /** The sending side is the client, the receiving side the server. */
  RecordProtector newProtector(boolean client) {
    switch (security) {
      case "alts_rekey":
        return AltsRecordProtector.create(RecordProtocol.AES_128_GCM_REKEY, client,
            client ? clientToServerKey : serverToClientKey,
            client ? serverToClientKey : clientToServerKey,
            AltsRecordProtector.DEFAULT_RECORD_BYTES,
            AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES);
      case "plain":
        return new PassThroughProtector();
      default:
        throw new IllegalArgumentException("security: " + security);
    }
  }

  /** A fresh receiving protector with counters at zero, for replaying pre-sealed records. */
  void resetOpener() {
    opener.release();
    opener = newProtector(false);
  }

  /**
   * {@code Http2Connection.write}: seals {@code plaintext} (consumed) into a fresh lease, writes
   * it and releases it. While the socket is full, drains the peer: opening the records if {@code
   * openWhileBlocked}, else discarding raw bytes.
   */
  void sealAndWrite(ByteBuffer plaintext, boolean openWhileBlocked) throws Exception {
    ByteBuffer sealed = io.lease(sealer.maxProtectedBytes(plaintext.remaining()));
    try {
      sealer.protect(plaintext, sealed);
      sealed.flip();
      writeFully(sealed, openWhileBlocked);
    } finally {
      io.release(sealed);
    }
  }

  /** Writes all of {@code buf} to the sending socket, draining the peer when it is full. */
  void writeFully(ByteBuffer buf, boolean openWhileBlocked) throws Exception {
    while (buf.hasRemaining()) {
      if (sender.write(buf) == 0) {
        if (openWhileBlocked) {
          readAndOpen();
        } else {
          drainRaw();
        }
      }
    }
  }

  /** {@code SecureSocket.onReadable} + {@code consume}: one read turn. Returns bytes read. */
  int readAndOpen() throws Exception {
    ByteBuffer buf = io.lease(READ_BUFFER_BYTES);
    int total = 0;
    try {
      for (int i = 0; i < MAX_READS_PER_TURN; i++) {
        buf.clear();
        int n = receiver.read(buf);
        if (n < 0) {
          throw new IOException("peer closed");
        }
        if (n == 0) {
          break;
        }
        total += n;
        buf.flip();
        opener.unprotect(buf, sink);
        if (buf.limit() < buf.capacity()) {
          break;
        }
      }
    } finally {
      io.release(buf);
    }
    return total;
  }

  /** Reads and discards whatever the receiving socket holds (no lease, no opening). */
  void drainRaw() throws IOException {
    while (true) {
      drainScratch.clear();
      int n = receiver.read(drainScratch);
      if (n < 0) {
        throw new IOException("peer closed");
      }
      if (n == 0) {
        return;
      }
    }
  }

  @Override
  public void close() throws IOException {
    sealer.release();
    opener.release();
    sender.close();
    receiver.close();
  }
}
