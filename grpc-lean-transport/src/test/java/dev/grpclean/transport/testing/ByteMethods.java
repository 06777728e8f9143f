package dev.grpclean.transport.testing;

import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Methods whose messages are raw {@code byte[]}, with no protobuf: a test controls every
 * message's exact size (0 B, 1 B, a frame plus one byte, ...).
 *
 * <p>Thread-safe (stateless).
 */
public final class ByteMethods {
  /** Passes bytes through unchanged; its stream tells grpc-core the length up front. */
  public static final MethodDescriptor.Marshaller<byte[]> MARSHALLER = BytesMarshaller.INSTANCE;

  private ByteMethods() {}

  /** The method {@code service/name} of {@code type}, both directions {@link #MARSHALLER}. */
  public static MethodDescriptor<byte[], byte[]> method(
      MethodType type, String service, String name) {
    return MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(service, name))
        .setRequestMarshaller(MARSHALLER)
        .setResponseMarshaller(MARSHALLER)
        .build();
  }

  private enum BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    INSTANCE;

    @Override
    public InputStream stream(byte[] value) {
      return new KnownLengthStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /**
   * A {@link ByteArrayInputStream} (which grpc-core's framer already sizes up front) that says so
   * through {@link KnownLength} as well.
   */
  private static final class KnownLengthStream extends ByteArrayInputStream implements KnownLength {
    KnownLengthStream(byte[] bytes) {
      super(bytes);
    }
  }
}
