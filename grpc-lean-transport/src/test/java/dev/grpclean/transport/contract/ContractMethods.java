package dev.grpclean.transport.contract;

import dev.grpclean.transport.testing.ByteMethods;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;

/**
 * The methods of the contract suite's service. Messages are raw {@code byte[]} ({@link
 * ByteMethods}), so a test controls every message's exact size (0 B, 1 B, a frame plus one byte,
 * ...).
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
    return ByteMethods.method(type, SERVICE, name);
  }
}
