package dev.grpclean.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One child JVM's socket I/O counters as {@code src/main/c/syscount.c} keeps them in its counter
 * file ({@code --syscalls preload}, {@link PreloadShim}): the file's layout, and reading it while
 * the child runs. The child bumps the counters with atomic adds in a shared mapping; this side
 * maps the file read-only and loads each aligned 64-bit counter with one plain load (atomic on
 * the 64-bit platforms the shim builds on), so a reading never stops or signals the child.
 *
 * <p>Layout, native byte order: the magic {@code GLSYSC01}, the number of counters (int), the
 * stride between counters in bytes (int), the writer's pid (long); counter {@code i} at
 * {@code 64 + stride * i}.
 *
 * <p>Stateless; {@link Counts} is immutable.
 */
final class PreloadCounters {
  static final byte[] MAGIC = "GLSYSC01".getBytes(StandardCharsets.US_ASCII);
  static final int HEADER_BYTES = 64;

  /** The counters in file order; {@code syscount.c}'s enum must list them alike. */
  enum Counter {
    /** read, readv, recv, recvfrom, recvmsg on a socket. */
    SOCKET_READS,
    /** Of which failed with EAGAIN: nothing to read. */
    SOCKET_READS_EAGAIN,
    SOCKET_READ_BYTES,
    /** write, writev, send, sendto, sendmsg, sendfile to a socket. */
    SOCKET_WRITES,
    /** Of which failed with EAGAIN: the send buffer was full. */
    SOCKET_WRITES_EAGAIN,
    SOCKET_WRITE_BYTES,
    /** Reads of pipes, eventfds and timerfds, and eventfd_read: draining wake-ups. */
    WAKEUP_READS,
    /** Writes of pipes and eventfds, and eventfd_write: wake-ups. */
    WAKEUP_WRITES,
    /** epoll_wait, epoll_pwait, epoll_pwait2. */
    EPOLL_WAITS,
    /** fstat calls the shim made to learn a descriptor's kind (its own cost, normally few). */
    FD_CLASSIFIED
  }

  /** One reading of every counter, or the difference of two. */
  static final class Counts {
    final long pid;
    private final long[] values;

    Counts(long pid, long[] values) {
      this.pid = pid;
      this.values = values.clone();
    }

    long get(Counter c) {
      return values[c.ordinal()];
    }

    /** This reading minus an earlier one of the same process. */
    Counts minus(Counts earlier) {
      if (earlier.pid != pid) {
        throw new IllegalArgumentException("readings of two processes: " + earlier.pid
            + " and " + pid);
      }
      long[] d = new long[values.length];
      for (int i = 0; i < d.length; i++) {
        d[i] = values[i] - earlier.values[i];
      }
      return new Counts(pid, d);
    }
  }

  /**
   * A measured window over both JVMs of a run: the readings at its start, then
   * {@link #client()} and {@link #server()} the counts since.
   */
  static final class Window {
    private final Path serverFile;
    private final Path clientFile;
    private final Counts serverStart;
    private final Counts clientStart;

    /** Reads both files now and checks that each belongs to its JVM. */
    Window(Path serverFile, ChildJvm server, Path clientFile, ChildJvm client)
        throws BenchException {
      this.serverFile = serverFile;
      this.clientFile = clientFile;
      this.serverStart = readOf(serverFile, server);
      this.clientStart = readOf(clientFile, client);
    }

    /** The server's counts since the window started. */
    Counts server() throws BenchException {
      return read(serverFile).minus(serverStart);
    }

    /** The client's counts since the window started. */
    Counts client() throws BenchException {
      return read(clientFile).minus(clientStart);
    }

    private static Counts readOf(Path file, ChildJvm jvm) throws BenchException {
      Counts c = read(file);
      if (c.pid != jvm.pid()) {
        throw new BenchException("the syscall counter file " + file + " is kept by process "
            + c.pid + ", not by the child JVM (pid " + jvm.pid() + ")");
      }
      return c;
    }
  }

  private PreloadCounters() {}

  /**
   * Reads the counters of {@code file}.
   *
   * @throws BenchException when the file is missing, short or not a counter file (the shim was
   *     not loaded into the process, or another program wrote the file)
   */
  static Counts read(Path file) throws BenchException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < HEADER_BYTES) {
        throw new BenchException("the syscall counter file " + file + " has " + size
            + " bytes: the preload library did not set it up in the child JVM");
      }
      MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
      return parse(map);
    } catch (IOException e) {
      throw new BenchException("cannot read the syscall counter file " + file + " ("
          + e.getMessage() + "): the preload library did not start in the child JVM");
    } catch (IllegalArgumentException e) {
      throw new BenchException("the syscall counter file " + file + " is not usable: "
          + e.getMessage());
    }
  }

  /**
   * The counters of a counter file's bytes (a mapping of it, or a copy).
   *
   * @throws IllegalArgumentException on a wrong magic, a counter count other than
   *     {@link Counter}'s, a stride under 8 or not a multiple of 8, or too few bytes
   */
  static Counts parse(ByteBuffer file) {
    ByteBuffer b = file.duplicate().order(ByteOrder.nativeOrder());
    if (b.limit() < HEADER_BYTES) {
      throw new IllegalArgumentException("only " + b.limit() + " bytes, no header");
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (b.get(i) != MAGIC[i]) {
        throw new IllegalArgumentException("no GLSYSC01 magic");
      }
    }
    int count = b.getInt(8);
    int stride = b.getInt(12);
    long pid = b.getLong(16);
    if (count != Counter.values().length) {
      throw new IllegalArgumentException(count + " counters where this bench knows "
          + Counter.values().length + " (a syscount.c of another version?)");
    }
    if (stride < 8 || stride % 8 != 0) {
      throw new IllegalArgumentException("counter stride " + stride);
    }
    long end = HEADER_BYTES + (long) stride * count;
    if (b.limit() < end) {
      throw new IllegalArgumentException(b.limit() + " bytes where " + count
          + " counters need " + end);
    }
    long[] values = new long[count];
    for (int i = 0; i < count; i++) {
      values[i] = b.getLong(HEADER_BYTES + stride * i);
    }
    return new Counts(pid, values);
  }
}
