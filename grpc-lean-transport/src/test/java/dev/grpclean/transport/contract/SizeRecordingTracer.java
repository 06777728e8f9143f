package dev.grpclean.transport.contract;

import static org.junit.Assert.assertTrue;

import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Records a client call's message sizes on the wire and uncompressed, to show compression really
 * happened in both directions.
 *
 * <p>Thread-safe.
 */
final class SizeRecordingTracer {
  private final AtomicLong outboundWire = new AtomicLong();
  private final AtomicLong outboundUncompressed = new AtomicLong();
  private final AtomicLong inboundWire = new AtomicLong();
  private final AtomicLong inboundUncompressed = new AtomicLong();

  ClientStreamTracer.Factory factory() {
    return new ClientStreamTracer.Factory() {
      @Override
      public ClientStreamTracer newClientStreamTracer(
          ClientStreamTracer.StreamInfo info, Metadata headers) {
        return new ClientStreamTracer() {
          @Override
          public void outboundWireSize(long bytes) {
            outboundWire.addAndGet(bytes);
          }

          @Override
          public void outboundUncompressedSize(long bytes) {
            outboundUncompressed.addAndGet(bytes);
          }

          @Override
          public void inboundWireSize(long bytes) {
            inboundWire.addAndGet(bytes);
          }

          @Override
          public void inboundUncompressedSize(long bytes) {
            inboundUncompressed.addAndGet(bytes);
          }
        };
      }
    };
  }

  /** Asserts both directions shrank at least fourfold on the wire. */
  void assertCompressed() {
    assertTrue("request sent", outboundUncompressed.get() > 0);
    assertTrue(
        "request compressed: " + outboundWire + " of " + outboundUncompressed,
        outboundWire.get() * 4 < outboundUncompressed.get());
    assertTrue("response received", inboundUncompressed.get() > 0);
    assertTrue(
        "response compressed: " + inboundWire + " of " + inboundUncompressed,
        inboundWire.get() * 4 < inboundUncompressed.get());
  }
}
