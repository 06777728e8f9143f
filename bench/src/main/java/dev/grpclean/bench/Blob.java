package dev.grpclean.bench;

import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * A bench message: opaque bytes. Small messages are parsed into an array; large ones are drained
 * into a per-thread scratch buffer and only their length is kept, so the bench's own copies do
 * not hide the transport's allocation and memory figures.
 *
 * <p>Immutable; the marshaller is thread-safe.
 */
public final class Blob {
  /** Messages up to this size are kept whole: every small payload the scenarios echo fits. */
  static final int MAX_KEPT_BYTES = 4096;
  /** The scratch buffer large messages are drained through; 64 KiB keeps the loop short. */
  private static final int SCRATCH_BYTES = 64 * 1024;
  private static final ThreadLocal<byte[]> SCRATCH =
      ThreadLocal.withInitial(() -> new byte[SCRATCH_BYTES]);

  public static final MethodDescriptor.Marshaller<Blob> MARSHALLER = new Marshaller();

  private final byte[] bytes;
  private final int length;

  private Blob(byte[] bytes, int length) {
    this.bytes = bytes;
    this.length = length;
  }

  /** A blob sending {@code bytes}; the array is shared, never modified. */
  public static Blob of(byte[] bytes) {
    return new Blob(bytes, bytes.length);
  }

  /** A blob of {@code length} zero bytes. */
  public static Blob zeros(int length) {
    return of(new byte[length]);
  }

  public int length() {
    return length;
  }

  /** The bytes, or null when the message was large and only its length was kept. */
  public byte[] bytes() {
    return bytes;
  }

  /** What protobuf messages look like to grpc-core: known length, drained in one copy. */
  private static final class DrainableStream extends ByteArrayInputStream
      implements Drainable, KnownLength {
    DrainableStream(byte[] bytes) {
      super(bytes);
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int n = count - pos;
      target.write(buf, pos, n);
      pos = count;
      return n;
    }
  }

  private static final class Marshaller implements MethodDescriptor.Marshaller<Blob> {
    @Override
    public InputStream stream(Blob value) {
      if (value.bytes == null) {
        throw new IllegalArgumentException("a received large blob cannot be sent again");
      }
      return new DrainableStream(value.bytes);
    }

    @Override
    public Blob parse(InputStream stream) {
      try {
        int available = stream instanceof KnownLength ? stream.available() : -1;
        if (available >= 0 && available <= MAX_KEPT_BYTES) {
          byte[] bytes = stream.readAllBytes();
          return new Blob(bytes, bytes.length);
        }
        byte[] scratch = SCRATCH.get();
        int total = 0;
        for (int n; (n = stream.read(scratch, 0, scratch.length)) > 0; ) {
          total += n;
        }
        return new Blob(null, total);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
