package dev.grpclean.bench.jmh;

import dev.grpclean.transport.spi.RecordProtector;
import java.nio.ByteBuffer;

/**
 * The "plain" arm of the record-layer benchmarks: a {@link RecordProtector} that seals by copying
 * and opens by handing the read buffer on, so the lease / copy / write / read path is the same as
 * with ALTS, minus the cipher and the record framing. (The transport's real insecure path has no
 * protector at all and so skips the seal lease and its copy: it is cheaper still.)
 */
final class PassThroughProtector implements RecordProtector {
  @Override
  public void unprotect(ByteBuffer ciphertext, PlaintextSink sink) throws Exception {
    if (ciphertext.hasRemaining()) {
      sink.onPlaintext(ciphertext);
    }
  }

  @Override
  public int maxProtectedBytes(int plaintextBytes) {
    return Math.max(plaintextBytes, 0);
  }

  @Override
  public void protect(ByteBuffer plaintext, ByteBuffer out) {
    out.put(plaintext);
  }

  @Override
  public int pendingBytes() {
    return 0;
  }

  @Override
  public void release() {}
}
