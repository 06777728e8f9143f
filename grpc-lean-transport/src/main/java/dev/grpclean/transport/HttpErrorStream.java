package dev.grpclean.transport;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.frame.Http2StreamError;
import io.grpc.Status;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import javax.annotation.Nullable;

/**
 * A request the server answers without gRPC (not a gRPC content type, wrong method, headers too
 * large): HEADERS with a plain HTTP status, then a text body with END_STREAM, like grpc-netty.
 * The stream stays a real HTTP/2 stream until that body has left, so flow control, RST_STREAM
 * and concurrency limits apply to it as to any other (RFC 9113 §5.1).
 *
 * <p>Confined to the connection's loop thread.
 */
final class HttpErrorStream implements H2Stream, OutboundStream.Listener {
  /** Called when the response is complete. */
  interface Owner {
    void onErrorResponseSent(HttpErrorStream stream);
  }

  private static final Http2Headers EMPTY_HEADERS = new DefaultHttp2Headers(false, 0);

  final int id;
  final OutboundStream outbound;
  final InboundFlow inbound;
  final ContentLength contentLength;
  final Http2Headers headers;
  private final Owner owner;
  boolean remoteClosed;
  boolean localClosed;

  HttpErrorStream(int id, int sendWindowBytes, int receiveWindowBytes,
      ContentLength contentLength, Http2Headers headers, Owner owner, LoopyWriter writer) {
    this.id = id;
    this.outbound = new OutboundStream(id, sendWindowBytes, this, writer);
    this.inbound = new InboundFlow(receiveWindowBytes);
    this.contentLength = contentLength;
    this.headers = headers;
    this.owner = owner;
  }

  /**
   * The request body's accounting: its declared content-length (none without {@code request}
   * headers), already checked against an empty body when the request ended with its headers.
   */
  static ContentLength requestLength(int streamId, @Nullable Http2Headers request,
      boolean endStream) throws Http2StreamError {
    ContentLength length = ContentLength.of(streamId, request == null ? EMPTY_HEADERS : request);
    if (endStream) {
      length.onData(streamId, 0, true);
    }
    return length;
  }

  /** Queues the response: HEADERS with {@code httpCode}, then {@code message} as the body. */
  void enqueueResponse(LoopyWriter writer, int httpCode, Status.Code code, String message) {
    writer.enqueueHeaders(id, GrpcHeaders.httpError(httpCode, code, message), false);
    byte[] body = message.getBytes(StandardCharsets.UTF_8);
    ByteBuffer chunk = LeanBuffers.leaseHeap(Math.max(1, body.length));
    chunk.put(body).flip();
    writer.enqueueData(outbound, chunk, true);
  }

  @Override
  public void onDataSent(int bytes) {}

  @Override
  public void onOutboundClosed() {
    owner.onErrorResponseSent(this);
  }

  @Override
  public int id() {
    return id;
  }

  @Override
  public InboundFlow inbound() {
    return inbound;
  }

  @Override
  public OutboundStream outbound() {
    return outbound;
  }

  @Override
  public boolean isRemoteClosed() {
    return remoteClosed;
  }

  @Override
  public void markRemoteClosed() {
    remoteClosed = true;
  }

  /** Request body bytes are discarded at once; only their accounting matters. */
  @Override
  public int deliverData(ByteBuffer data, boolean endStream) throws Http2StreamError {
    contentLength.onData(id, data.remaining(), endStream);
    inbound.consume(data.remaining());
    return data.remaining();
  }

  static Http2StreamError protocolError(int id, String message) {
    return new Http2StreamError(id, ErrorCode.PROTOCOL_ERROR, message);
  }
}
