package dev.grpclean.transport.contract;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Echoes the values of {@link #ASCII_KEY} and {@link #BINARY_KEY} from the request headers into the
 * response headers under the same keys, and into the trailers under the trailer keys.
 *
 * <p>Thread-safe (stateless).
 */
final class MetadataEchoInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> ASCII_KEY =
      Metadata.Key.of("x-contract-ascii", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<byte[]> BINARY_KEY =
      Metadata.Key.of("x-contract-bin", Metadata.BINARY_BYTE_MARSHALLER);
  static final Metadata.Key<String> TRAILER_ASCII_KEY =
      Metadata.Key.of("x-contract-trailer-ascii", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<byte[]> TRAILER_BINARY_KEY =
      Metadata.Key.of("x-contract-trailer-bin", Metadata.BINARY_BYTE_MARSHALLER);

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata requestHeaders, ServerCallHandler<ReqT, RespT> next) {
    ServerCall<ReqT, RespT> echoing =
        new SimpleForwardingServerCall<ReqT, RespT>(call) {
          @Override
          public void sendHeaders(Metadata headers) {
            copy(requestHeaders.getAll(ASCII_KEY), ASCII_KEY, headers);
            copy(requestHeaders.getAll(BINARY_KEY), BINARY_KEY, headers);
            super.sendHeaders(headers);
          }

          @Override
          public void close(Status status, Metadata trailers) {
            copy(requestHeaders.getAll(ASCII_KEY), TRAILER_ASCII_KEY, trailers);
            copy(requestHeaders.getAll(BINARY_KEY), TRAILER_BINARY_KEY, trailers);
            super.close(status, trailers);
          }
        };
    return next.startCall(echoing, requestHeaders);
  }

  private static <T> void copy(Iterable<T> values, Metadata.Key<T> key, Metadata into) {
    if (values != null) {
      for (T value : values) {
        into.put(key, value);
      }
    }
  }
}
