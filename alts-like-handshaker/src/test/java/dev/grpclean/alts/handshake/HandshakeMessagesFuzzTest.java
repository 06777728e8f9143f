package dev.grpclean.alts.handshake;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.RpcProtocolVersion;
import dev.grpclean.alts.X509Fixtures;
import dev.grpclean.alts.record.RecordProtocol;
import dev.grpclean.transport.pool.Pools;
import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.testing.FuzzInput;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Date;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes the parsing of the ALTS-like handshake: {@link MessageReader} reassembly, the strict
 * decoders of {@link Messages} (ClientInit, ServerInit, ClientFinished, identity fields with
 * X.509 chains), and both {@link AltsLikeHandshaker}s fed arbitrary bytes in arbitrary pieces.
 *
 * <p>Input layout ({@link FuzzInput}): byte 0 picks the mode (bits 0-1: 0 and 3 decode messages,
 * 1 a server handshaker, 2 a client handshaker after its ClientInit) and, for decoding, the
 * message kind (bits 2-3: 0 and 3 ClientInit, 1 ServerInit, 2 ClientFinished); byte 1 the number
 * of split points (0 to 15); two bytes per split point (big-endian, modulo the length); then the
 * peer's bytes.
 *
 * <p>What must hold for every input:
 * <ul>
 *   <li>decoding throws nothing but {@link HandshakeException}, and turning a decoded identity
 *       into a peer nothing but {@link GeneralSecurityException};
 *   <li>decoding is strict: whatever decodes encodes back to the same bytes (signature and MAC
 *       aside, which encoding leaves zero);
 *   <li>the reader consumes nothing past a message and holds at most the message limit;
 *   <li>a handshaker throws only {@link HandshakeException}, never one wrapping a
 *       {@link RuntimeException} (its catch-all turns bugs into handshake failures, which would
 *       hide them); until done it consumes all it is given; once failed it refuses more bytes;
 *   <li>no lease of the I/O pool is left outstanding (the handshakers' buffers are leased per
 *       call, as the transport does).
 * </ul>
 *
 * <p>{@code scripts/fuzz handshake} runs it in fuzzing mode; plain {@code mvn verify} runs it over
 * {@code HandshakeMessagesFuzzTestInputs/parse}. The class timeout is also Jazzer's per-input
 * timeout when fuzzing.
 *
 * <p>The identities are made once for the class; everything else is per invocation.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HandshakeMessagesFuzzTest {
  private static final int MODE_SERVER = 1;
  private static final int MODE_CLIENT = 2;
  private static final int KIND_CLIENT_INIT = 0;
  private static final int KIND_SERVER_INIT = 1;
  /** The fixtures are valid for 10 years from when they were made; validate within that. */
  private static final Date VALIDATION_DATE = new Date(1_767_225_600_000L); // 2026-01-01

  private static HandshakeOptions serverOptions;
  private static HandshakeOptions clientOptions;

  @BeforeAll
  static void identities() throws Exception {
    // Raw-key peers are accepted whoever they are; certificate peers must chain to the test CA,
    // so a fuzzed chain reaches PKIX validation.
    serverOptions = HandshakeOptions.newBuilder().identity(AltsLikeIdentity.generate())
        .acceptAnyPeer().trustCertificates(X509Fixtures.ca())
        .certificateValidationDate(VALIDATION_DATE).build();
    clientOptions = HandshakeOptions.newBuilder().identity(X509Fixtures.identity("client"))
        .acceptAnyPeer().trustCertificates(X509Fixtures.ca())
        .certificateValidationDate(VALIDATION_DATE).build();
  }

  @FuzzTest(maxDuration = "20s")
  void parse(byte[] input) throws Exception {
    FuzzInput fuzzInput = FuzzInput.of(input);
    int bits = fuzzInput.options();
    byte[] stream = fuzzInput.payload();
    int[] cuts = fuzzInput.pieceEnds(stream.length);
    long leasesBefore = Pools.io().leasesOutstanding();
    switch (bits & 3) {
      case MODE_SERVER:
        handshake(new ServerHandshaker(serverOptions, new HandshakeLimiter(1)), stream, cuts);
        break;
      case MODE_CLIENT:
        handshake(new ClientHandshaker(clientOptions, "localhost"), stream, cuts);
        break;
      default:
        decode(((bits >> 2) & 3) % 3, stream, cuts);
        break;
    }
    if (Pools.io().leasesOutstanding() != leasesBefore) {
      throw new AssertionError("I/O lease left outstanding");
    }
  }

  /** Reassembles messages of one kind from the pieces and decodes each. */
  private static void decode(int kind, byte[] stream, int[] cuts) {
    int limit = kind == KIND_CLIENT_INIT
        ? Messages.MAX_MESSAGE_BYTES : Messages.MAX_IDENTITY_MESSAGE_BYTES;
    MessageReader reader = new MessageReader();
    int from = 0;
    long framed = 0;
    try {
      for (int cut : cuts) {
        ByteBuffer in = ByteBuffer.wrap(stream, from, cut - from);
        while (in.hasRemaining()) {
          int before = in.position();
          int pendingBefore = reader.pendingBytes();
          byte[] message = reader.read(in, limit);
          if (message == null) {
            assertFalse(in.hasRemaining(), "the reader left bytes of an incomplete message");
            break;
          }
          if (message.length != pendingBefore + in.position() - before
              || message.length > limit) {
            throw new AssertionError("the reader consumed past its message or its limit");
          }
          framed += message.length;
          checkDecode(kind, message);
        }
        if (reader.pendingBytes() > limit) {
          throw new AssertionError("the reader holds more than the message limit");
        }
        from = cut;
      }
    } catch (HandshakeException expected) {
      // a malformed message: the only way decoding may fail
    }
    if (framed > stream.length) {
      throw new AssertionError("messages longer than the stream");
    }
  }

  /** Decodes one framed message; what decodes must encode back to the same bytes. */
  private static void checkDecode(int kind, byte[] message) throws HandshakeException {
    byte[] again;
    Messages.Identity identity = null;
    switch (kind) {
      case KIND_CLIENT_INIT:
        again = Messages.ClientInit.decode(message).encode();
        break;
      case KIND_SERVER_INIT:
        Messages.ServerInit serverInit = Messages.ServerInit.decode(message);
        identity = serverInit.identity;
        again = unsigned(serverInit.encodeUnsigned(), message);
        break;
      default: // ClientFinished
        Messages.ClientFinished finished = Messages.ClientFinished.decode(message);
        identity = finished.identity;
        again = unsigned(finished.encodeUnsigned(), message);
        break;
    }
    assertArrayEquals(message, again, "decoding is not strict: re-encoding differs");
    if (identity != null) {
      try {
        identity.toPeer(RecordProtocol.AES_128_GCM_REKEY, RpcProtocolVersion.DEFAULT, "peer");
      } catch (GeneralSecurityException expected) {
        // a key or certificate that does not parse, or a key type we do not support
      }
    }
  }

  /** {@code encoded} with the signature and MAC of {@code original}, which encoding zeroes. */
  private static byte[] unsigned(byte[] encoded, byte[] original) {
    if (encoded.length == original.length) {
      int proof = Messages.signatureOffset(original);
      System.arraycopy(original, proof, encoded, proof, original.length - proof);
    }
    return encoded;
  }

  /** Feeds the pieces to a started handshaker through leased buffers, as the transport does. */
  private static void handshake(Handshaker h, byte[] stream, int[] cuts) throws Exception {
    ByteBuffer first = Pools.io().lease(h.maxOutputBytes());
    try {
      h.start(first);
    } finally {
      Pools.io().release(first);
    }
    int from = 0;
    try {
      for (int cut : cuts) {
        if (feed(h, stream, from, cut)) {
          return; // done: cannot happen without the peer's keys, but it is not a failure
        }
        if (h.pendingBytes() > Messages.MAX_IDENTITY_MESSAGE_BYTES) {
          throw new AssertionError("the handshaker holds more than the message limit");
        }
        from = cut;
      }
    } catch (HandshakeException e) {
      // A runtime exception among the causes is a bug of ours turned into a handshake failure.
      // The walk stops at a CertificateException: that is the JDK's X.509 parser refusing the
      // certificate, and what it wraps (its own ArrayIndexOutOfBoundsException on an empty
      // KeyUsage bit string, found by this fuzzer) is that parser's business, not ours.
      for (Throwable cause = e.getCause();
          cause != null && !(cause instanceof java.security.cert.CertificateException);
          cause = cause.getCause()) {
        if (cause instanceof RuntimeException) {
          throw new AssertionError("a bug became a handshake failure", e);
        }
      }
      assertThrows(IllegalStateException.class, () -> h.onBytes(ByteBuffer.allocate(1),
          ByteBuffer.allocate(h.maxOutputBytes())));
    } finally {
      h.close();
    }
  }

  /** One piece in, whatever the handshaker writes out; returns whether it is done. */
  private static boolean feed(Handshaker h, byte[] stream, int from, int to) throws Exception {
    ByteBuffer in = Pools.io().lease(Math.max(1, to - from));
    ByteBuffer out = Pools.io().lease(h.maxOutputBytes());
    try {
      in.put(stream, from, to - from).flip();
      boolean done = h.onBytes(in, out);
      if (!done && in.hasRemaining()) {
        throw new AssertionError("an unfinished handshake left bytes unconsumed");
      }
      return done;
    } finally {
      Pools.io().release(in);
      Pools.io().release(out);
    }
  }
}
