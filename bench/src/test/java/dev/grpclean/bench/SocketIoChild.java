package dev.grpclean.bench;

import java.io.FileInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process {@link PreloadShimTest} runs under the preload library: a known number of socket
 * reads and writes on a loopback connection, pipe I/O, and file reads (before and after the
 * sockets close, so a file may reuse a socket's descriptor number) that must not count as socket
 * I/O. Prints nothing; exits 0 when every step did what it should.
 *
 * <p>Arguments: pingPongs, gatherings, emptyReads, fileReads, pipeRounds, a file to read.
 * Each ping-pong is one 10-byte write and read one way and a 1-byte write and read back; each
 * gathering a 2-buffer write (writev) answered by a 2-buffer read (readv); each empty read one
 * non-blocking read that finds nothing (EAGAIN); each pipe round one pipe write and read.
 *
 * <p>Single-threaded.
 */
public final class SocketIoChild {
  static final int PING_BYTES = 10;

  private SocketIoChild() {}

  public static void main(String[] args) throws IOException {
    int pingPongs = Integer.parseInt(args[0]);
    int gatherings = Integer.parseInt(args[1]);
    int emptyReads = Integer.parseInt(args[2]);
    int fileReads = Integer.parseInt(args[3]);
    int pipeRounds = Integer.parseInt(args[4]);
    Path file = Path.of(args[5]);
    readFile(file, fileReads);
    try (ServerSocketChannel listener = ServerSocketChannel.open()) {
      listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      try (SocketChannel client = SocketChannel.open(listener.getLocalAddress());
          SocketChannel server = listener.accept()) {
        ByteBuffer ping = ByteBuffer.allocateDirect(PING_BYTES);
        ByteBuffer pong = ByteBuffer.allocateDirect(1);
        for (int i = 0; i < pingPongs; i++) {
          ping.clear();
          check(client.write(ping) == PING_BYTES, "ping write");
          ping.clear();
          check(server.read(ping) == PING_BYTES, "ping read");
          pong.clear();
          check(server.write(pong) == 1, "pong write");
          pong.clear();
          check(client.read(pong) == 1, "pong read");
        }
        ByteBuffer[] halves = {ByteBuffer.allocateDirect(4), ByteBuffer.allocateDirect(6)};
        for (int i = 0; i < gatherings; i++) {
          halves[0].clear();
          halves[1].clear();
          check(client.write(halves) == PING_BYTES, "gathering write");
          halves[0].clear();
          halves[1].clear();
          check(server.read(halves) == PING_BYTES, "scattering read");
        }
        client.configureBlocking(false);
        for (int i = 0; i < emptyReads; i++) {
          pong.clear();
          check(client.read(pong) == 0, "empty read");
        }
      }
    }
    Pipe pipe = Pipe.open();
    try (Pipe.SinkChannel sink = pipe.sink(); Pipe.SourceChannel source = pipe.source()) {
      ByteBuffer one = ByteBuffer.allocateDirect(1);
      for (int i = 0; i < pipeRounds; i++) {
        one.clear();
        check(sink.write(one) == 1, "pipe write");
        one.clear();
        check(source.read(one) == 1, "pipe read");
      }
    }
    readFile(file, fileReads);
  }

  /** {@code reads} one-byte reads of {@code file}: read(2) on a regular file each. */
  private static void readFile(Path file, int reads) throws IOException {
    check(Files.size(file) >= reads, "file too short");
    try (FileInputStream in = new FileInputStream(file.toFile())) {
      for (int i = 0; i < reads; i++) {
        check(in.read() >= 0, "file read");
      }
    }
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException(what + " did not move the expected bytes");
    }
  }
}
