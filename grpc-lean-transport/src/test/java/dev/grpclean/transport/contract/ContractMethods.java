package dev.grpclean.transport.contract;

import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The methods of the contract suite's service. Messages are raw {@code byte[]}, so a test controls
 * every message's exact size (0 B, 1 B, a frame plus one byte, ...).
 *
 * <p>Thread-safe (immutable).
 */
public final class ContractMethods {
  public static final String SERVICE = "grpclean.contract.Contract";

  public static final MethodDescriptor<byte[], byte[]> UNARY = method(MethodType.UNARY, "Unary");
  public static final MethodDescriptor<byte[], byte[]> CLIENT_STREAMING =
      method(MethodType.CLIENT_STREAMING, "ClientStreaming");
  public static final MethodDescriptor<byte[], byte[]> SERVER_STREAMING =
      method(MethodType.SERVER_STREAMING, "ServerStreaming");
  public static final MethodDescriptor<byte[], byte[]> BIDI_STREAMING =
      method(MethodType.BIDI_STREAMING, "BidiStreaming");

  /**
   * Echoes like {@link #UNARY}; every service of the suite has it, so a test can check its
   * connection still serves calls after it changed what the other methods do.
   */
  public static final MethodDescriptor<byte[], byte[]> PING = method(MethodType.UNARY, "Ping");

  /** A method of {@link #SERVICE} that no server registers. */
  public static final MethodDescriptor<byte[], byte[]> MISSING_METHOD =
      method(MethodType.UNARY, "Missing");

  /** A method of a service that no server registers. */
  public static final MethodDescriptor<byte[], byte[]> MISSING_SERVICE =
      UNARY.toBuilder()
          .setFullMethodName(MethodDescriptor.generateFullMethodName("grpclean.Nowhere", "Unary"))
          .build();

  private ContractMethods() {}

  private static MethodDescriptor<byte[], byte[]> method(MethodType type, String name) {
    return MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(BytesMarshaller.INSTANCE)
        .setResponseMarshaller(BytesMarshaller.INSTANCE)
        .build();
  }

  /** Passes bytes through unchanged; its stream tells grpc-core the length up front. */
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

  private static final class KnownLengthStream extends ByteArrayInputStream implements KnownLength {
    KnownLengthStream(byte[] bytes) {
      super(bytes);
    }
  }
}
