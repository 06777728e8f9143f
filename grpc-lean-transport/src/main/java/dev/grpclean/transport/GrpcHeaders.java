package dev.grpclean.transport;

import io.grpc.InternalMetadata;
import io.grpc.Metadata;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.TransportFrameUtil;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Converts between grpc {@link Metadata} and HTTP/2 header lists, following the gRPC over HTTP/2
 * protocol: request pseudo-headers, {@code te: trailers}, {@code content-type: application/grpc},
 * binary ({@code -bin}) values base64-encoded on the wire.
 *
 * <p>Stateless; thread-safe.
 */
final class GrpcHeaders {
  static final AsciiString POST = AsciiString.cached("POST");
  static final AsciiString HTTP = AsciiString.cached("http");
  static final AsciiString HTTPS = AsciiString.cached("https");
  static final AsciiString STATUS_OK = AsciiString.cached("200");
  static final AsciiString CONTENT_TYPE = AsciiString.cached(GrpcUtil.CONTENT_TYPE_KEY.name());
  static final AsciiString CONTENT_TYPE_GRPC = AsciiString.cached(GrpcUtil.CONTENT_TYPE_GRPC);
  static final AsciiString TE = AsciiString.cached(GrpcUtil.TE_HEADER.name());
  static final AsciiString TE_TRAILERS = AsciiString.cached(GrpcUtil.TE_TRAILERS);
  static final AsciiString USER_AGENT = AsciiString.cached(GrpcUtil.USER_AGENT_KEY.name());

  private GrpcHeaders() {}

  static Http2Headers clientRequest(Metadata metadata, AsciiString scheme, String path,
      String authority, String userAgent) {
    stripReserved(metadata);
    byte[][] serialized = TransportFrameUtil.toHttp2Headers(metadata);
    Http2Headers h = new DefaultHttp2Headers(false, serialized.length / 2 + 7);
    h.method(POST).scheme(scheme).path(new AsciiString(path)).authority(new AsciiString(authority));
    h.add(CONTENT_TYPE, CONTENT_TYPE_GRPC);
    h.add(TE, TE_TRAILERS);
    if (userAgent != null) {
      h.add(USER_AGENT, new AsciiString(userAgent));
    }
    addAll(h, serialized);
    return h;
  }

  static Http2Headers serverResponse(Metadata metadata) {
    stripReserved(metadata);
    byte[][] serialized = TransportFrameUtil.toHttp2Headers(metadata);
    Http2Headers h = new DefaultHttp2Headers(false, serialized.length / 2 + 2);
    h.status(STATUS_OK);
    h.add(CONTENT_TYPE, CONTENT_TYPE_GRPC);
    addAll(h, serialized);
    return h;
  }

  static Http2Headers serverTrailers(Metadata trailers, boolean headersSent) {
    if (!headersSent) {
      // Trailers-only response: one HEADERS frame with :status, content-type and the status.
      return serverResponse(trailers);
    }
    byte[][] serialized = TransportFrameUtil.toHttp2Headers(trailers);
    Http2Headers h = new DefaultHttp2Headers(false, serialized.length / 2);
    addAll(h, serialized);
    return h;
  }

  /** A non-gRPC failure answered as plain HTTP plus grpc-status (gRPC HTTP/2 protocol). */
  static Http2Headers httpError(int httpCode, io.grpc.Status.Code code, String message) {
    Metadata md = new Metadata();
    md.put(io.grpc.InternalStatus.CODE_KEY, code.toStatus());
    md.put(io.grpc.InternalStatus.MESSAGE_KEY, message);
    byte[][] serialized = TransportFrameUtil.toHttp2Headers(md);
    Http2Headers h = new DefaultHttp2Headers(false, 4);
    h.status(AsciiString.of(Integer.toString(httpCode)));
    h.add(CONTENT_TYPE, AsciiString.cached("text/plain; charset=utf-8"));
    addAll(h, serialized);
    return h;
  }

  /** Converts a received header list; pseudo-headers are kept only if {@code withPseudo}. */
  static Metadata toMetadata(Http2Headers headers, boolean withPseudo) {
    byte[][] namesAndValues = new byte[headers.size() * 2][];
    int i = 0;
    for (Map.Entry<CharSequence, CharSequence> e : headers) {
      CharSequence name = e.getKey();
      if (!withPseudo && name.length() > 0 && name.charAt(0) == ':') {
        continue;
      }
      namesAndValues[i++] = bytes(name);
      namesAndValues[i++] = bytes(e.getValue());
    }
    if (i < namesAndValues.length) {
      namesAndValues = java.util.Arrays.copyOf(namesAndValues, i);
    }
    return InternalMetadata.newMetadata(TransportFrameUtil.toRawSerializedHeaders(namesAndValues));
  }

  private static void stripReserved(Metadata metadata) {
    metadata.discardAll(GrpcUtil.CONTENT_TYPE_KEY);
    metadata.discardAll(GrpcUtil.TE_HEADER);
    metadata.discardAll(GrpcUtil.USER_AGENT_KEY);
  }

  private static void addAll(Http2Headers h, byte[][] serialized) {
    for (int i = 0; i < serialized.length; i += 2) {
      h.add(new AsciiString(serialized[i], false), new AsciiString(serialized[i + 1], false));
    }
  }

  private static byte[] bytes(CharSequence s) {
    if (s instanceof AsciiString) {
      AsciiString a = (AsciiString) s;
      return a.isEntireArrayUsed() ? a.array() : a.toByteArray();
    }
    return s.toString().getBytes(StandardCharsets.UTF_8);
  }
}
