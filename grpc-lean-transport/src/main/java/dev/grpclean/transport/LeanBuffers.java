package dev.grpclean.transport;

import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
import java.nio.ByteBuffer;

/**
 * The four pools the transport leases from: direct buffers for socket reads and writes (so the
 * JDK does not copy through its own per-thread direct cache), direct buffers for inbound DATA
 * waiting for grpc-core, direct buffers for outbound message bytes queued on streams (a plaintext
 * writer gathers them straight into the socket), heap buffers for header blocks, partial records
 * and transport-made bodies.
 *
 * <p>Thread-safe.
 */
final class LeanBuffers {
  private LeanBuffers() {}

  static ByteBuffer leaseIo(int minBytes) {
    return Pools.io().lease(minBytes);
  }

  static void releaseIo(ByteBuffer buffer) {
    Pools.io().release(buffer);
  }

  static ByteBuffer leaseInbound(int minBytes) {
    return Pools.inbound().lease(minBytes);
  }

  static void releaseInbound(ByteBuffer buffer) {
    Pools.inbound().release(buffer);
  }

  static BufferPool inbound() {
    return Pools.inbound();
  }

  static ByteBuffer leaseHeap(int minBytes) {
    return Pools.heap().lease(minBytes);
  }

  static void releaseHeap(ByteBuffer buffer) {
    Pools.heap().release(buffer);
  }

  /** A buffer for outbound message bytes (grpc-core's framer writes into it). */
  static ByteBuffer leaseOutbound(int minBytes) {
    return Pools.outbound().lease(minBytes);
  }

  /**
   * Returns an outbound chunk to the pool it came from: the outbound pool's direct leases, or a
   * heap lease (a transport-made body such as {@link HttpErrorStream}'s).
   */
  static void releaseOutbound(ByteBuffer buffer) {
    poolOf(buffer).release(buffer);
  }

  /** The pool an outbound chunk was leased from. */
  static BufferPool poolOf(ByteBuffer buffer) {
    return buffer.isDirect() ? Pools.outbound() : Pools.heap();
  }

  static BufferPool outbound() {
    return Pools.outbound();
  }

  static BufferPool io() {
    return Pools.io();
  }

  static BufferPool heap() {
    return Pools.heap();
  }
}
