package dev.grpclean.transport.tls;

import static org.junit.Assert.assertFalse;

import dev.grpclean.transport.LeanTransportStats;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.RecordProtector;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Two handshakers connected in memory, driven the way the transport drives them: bytes delivered
 * in chunks of a chosen size, each call's output forwarded to the peer (also when the call
 * failed, so an alert reaches the peer), and after completion the same byte stream handed to the
 * record protector. After every call no buffer may be leased.
 *
 * <p>Not thread-safe: one test thread.
 */
final class HandshakePair {
  /** One side of the pair. */
  static final class Side {
    final String name;
    final Handshaker handshaker;
    final ByteArrayOutputStream inbox = new ByteArrayOutputStream();
    /** Plaintext opened by the protector. */
    final ByteArrayOutputStream opened = new ByteArrayOutputStream();
    boolean done;
    Exception failure;

    Side(String name, Handshaker handshaker) {
      this.name = name;
      this.handshaker = handshaker;
    }

    boolean settled() {
      return done || failure != null;
    }

    RecordProtector protector() {
      return handshaker.protector();
    }
  }

  final Side client;
  final Side server;
  final int chunkBytes;

  HandshakePair(Handshaker client, Handshaker server, int chunkBytes) {
    this.client = new Side("client", client);
    this.server = new Side("server", server);
    this.chunkBytes = chunkBytes;
  }

  /** Starts both sides and exchanges bytes until both completed or failed, or nothing moves. */
  HandshakePair run() {
    start(server, client);
    start(client, server);
    for (int round = 0; round < 1000; round++) {
      boolean moved = step(server, client) | step(client, server);
      if (!moved) {
        break;
      }
    }
    return this;
  }

  private void start(Side self, Side peer) {
    ByteBuffer out = ByteBuffer.allocate(self.handshaker.maxOutputBytes());
    try {
      self.handshaker.start(out);
    } catch (Exception e) {
      self.failure = e;
    }
    forward(out, peer);
    assertNoLeases(self, "start");
  }

  /** Delivers self's inbox in chunks; false if there was nothing to deliver. */
  private boolean step(Side self, Side peer) {
    if (self.failure != null || self.inbox.size() == 0) {
      return false;
    }
    byte[] data = self.inbox.toByteArray();
    self.inbox.reset();
    for (int off = 0; off < data.length; ) {
      int n = Math.min(chunkBytes, data.length - off);
      ByteBuffer in = ByteBuffer.wrap(data, off, n).slice();
      if (self.done) {
        unprotect(self, in);
        if (self.failure != null) {
          return true;
        }
      } else {
        ByteBuffer out = ByteBuffer.allocate(self.handshaker.maxOutputBytes());
        try {
          self.done = self.handshaker.onBytes(in, out);
        } catch (Exception e) {
          self.failure = e;
        }
        forward(out, peer);
        if (self.failure != null) {
          return true;
        }
        if (self.done && in.hasRemaining()) {
          // Bytes after the handshake belong to the record layer, as in the transport.
          unprotect(self, in);
        }
        assertFalse(self.name + " left handshake bytes unread", in.hasRemaining());
      }
      assertNoLeases(self, "onBytes");
      off += n;
    }
    return true;
  }

  /** Seals {@code payload} on {@code from} and delivers it to the other side in chunks. */
  void send(Side from, byte[] payload) throws Exception {
    Side to = from == client ? server : client;
    RecordProtector protector = from.protector();
    ByteBuffer sealed = ByteBuffer.allocate(protector.maxProtectedBytes(payload.length));
    protector.protect(ByteBuffer.wrap(payload), sealed);
    assertNoLeases(from, "protect");
    sealed.flip();
    to.inbox.write(sealed.array(), 0, sealed.limit());
    step(to, from);
    if (to.failure != null) {
      throw to.failure;
    }
  }

  private void unprotect(Side self, ByteBuffer in) {
    try {
      self.protector().unprotect(in, plain -> {
        byte[] copy = new byte[plain.remaining()];
        plain.get(copy);
        self.opened.write(copy, 0, copy.length);
      });
    } catch (Exception e) {
      self.failure = e;
    }
    assertNoLeases(self, "unprotect");
  }

  private static void forward(ByteBuffer out, Side peer) {
    out.flip();
    peer.inbox.write(out.array(), 0, out.limit());
  }

  /**
   * The record layer's memory contract between calls: no lease, except the stash of a record
   * split across calls, which may be a heap-pool lease of at most twice its pending bytes.
   */
  private void assertNoLeases(Side side, String call) {
    long allowed = 2L * (client.handshaker.pendingBytes() + server.handshaker.pendingBytes());
    if (LeanTransportStats.leasedBytes() > allowed) {
      throw new AssertionError(side.name + " holds a lease after " + call + " beyond twice the "
          + "pending record bytes (" + allowed + "): " + LeanTransportStats.describe());
    }
  }

  static byte[] payload(int size) {
    byte[] b = new byte[size];
    for (int i = 0; i < size; i++) {
      b[i] = (byte) (i * 31 + (i >>> 8));
    }
    return b;
  }

  static boolean same(byte[] expected, ByteArrayOutputStream actual) {
    return Arrays.equals(expected, actual.toByteArray());
  }
}
