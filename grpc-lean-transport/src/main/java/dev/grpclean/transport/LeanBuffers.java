package dev.grpclean.transport;

import dev.grpclean.transport.pool.BufferPool;
import dev.grpclean.transport.pool.Pools;
import java.nio.ByteBuffer;

/**
 * The three pools the transport leases from: direct buffers for socket reads and writes (so the
 * JDK does not copy through its own per-thread direct cache), direct buffers for inbound DATA
 * waiting for grpc-core, heap buffers for outbound message bytes queued on streams.
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

  static BufferPool io() {
    return Pools.io();
  }

  static BufferPool heap() {
    return Pools.heap();
  }
}
