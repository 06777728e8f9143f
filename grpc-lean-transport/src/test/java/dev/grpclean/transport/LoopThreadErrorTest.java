package dev.grpclean.transport;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.spi.Handshaker;
import dev.grpclean.transport.spi.HandshakerCredentials;
import dev.grpclean.transport.spi.HandshakerFactory;
import dev.grpclean.transport.spi.RecordProtector;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.LeanLeases;
import io.grpc.Attributes;
import io.grpc.ChannelCredentials;
import io.grpc.InternalChannelz;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * An {@link Error} (not an Exception) thrown by transport code on the client's loop thread, as a
 * {@code NoSuchMethodError} from a mismatched Netty would be: the connection fails at once, its
 * call ends INTERNAL naming the error (not at its deadline), no lease is left, and the loop thread
 * lives on to serve the next connection of the same channel.
 *
 * <p>The error comes from a test security layer (a one-byte handshake, then records that are the
 * plaintext itself) that the client's loop thread runs: the handshake, the record layer's read
 * path and its write path (the end-of-batch flush). The JUnit thread makes the calls.
 */
public class LoopThreadErrorTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  /** The client's security layer throws this when armed; null: it works. Any thread sets it. */
  private static volatile Supplier<Error> handshakeError;
  private static volatile Supplier<Error> readError;
  private static volatile Supplier<Error> writeError;

  private Server server;
  private ManagedChannel channel;
  private long baseline;

  @Before
  public void setUp() throws IOException {
    handshakeError = null;
    readError = null;
    writeError = null;
    baseline = LeanLeases.baseline();
    server = LeanServerBuilder.forPort(0, new TestServerCredentials())
        .addService(Echo.service())
        .build()
        .start();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(),
        new TestChannelCredentials()).build();
  }

  @After
  public void tearDown() throws InterruptedException {
    handshakeError = null;
    readError = null;
    writeError = null;
    channel.shutdownNow();
    server.shutdownNow();
    assertTrue("channel terminates", channel.awaitTermination(10, TimeUnit.SECONDS));
    assertTrue("server terminates", server.awaitTermination(10, TimeUnit.SECONDS));
    LeanLeases.assertBackTo(baseline);
  }

  @Test
  public void errorWhileSealingFailsTheCallInternal() {
    assertServes();
    writeError = () -> new AssertionError("injected on the write path");
    assertFailsNaming(Status.Code.INTERNAL, "AssertionError: injected on the write path");
    writeError = null;
    assertServes();
  }

  @Test
  public void linkageErrorWhileReadingFailsTheCallInternal() {
    assertServes();
    readError = () -> new NoSuchMethodError("injected on the read path");
    assertFailsNaming(Status.Code.INTERNAL, "NoSuchMethodError: injected on the read path");
    readError = null;
    assertServes();
  }

  @Test
  public void stackOverflowInTheHandshakeFailsTheCall() {
    handshakeError = () -> new StackOverflowError("injected in the handshake");
    assertFailsNaming(Status.Code.INTERNAL, "StackOverflowError: injected in the handshake");
    handshakeError = null;
    // This channel now backs off before reconnecting; a new one shares its loop threads.
    channel.shutdownNow();
    channel = LeanChannelBuilder.forAddress("127.0.0.1", server.getPort(),
        new TestChannelCredentials()).build();
    assertServes();
  }

  private void assertServes() {
    assertArrayEquals(new byte[] {7}, Echo.call(channel, new byte[] {7}));
  }

  /** Bounded by the call's deadline (Echo's, far above a prompt failure) and the class timeout. */
  private void assertFailsNaming(Status.Code code, String cause) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> Echo.call(channel, new byte[] {1}));
    Status status = e.getStatus();
    assertEquals(status.toString(), code, status.getCode());
    assertTrue(status.toString(), String.valueOf(status.getDescription()).contains(cause));
  }

  // ------------------------------------------------------------------ the test security layer

  private static final byte HELLO = 0x42;

  private static final class TestChannelCredentials extends ChannelCredentials
      implements HandshakerCredentials {
    @Override
    public ChannelCredentials withoutBearerTokens() {
      return this;
    }

    @Override
    public HandshakerFactory handshakerFactory(boolean client) {
      return new Factory(client);
    }
  }

  private static final class TestServerCredentials extends ServerCredentials
      implements HandshakerCredentials {
    @Override
    public HandshakerFactory handshakerFactory(boolean client) {
      return new Factory(client);
    }
  }

  private static final class Factory implements HandshakerFactory {
    private final boolean client;

    Factory(boolean client) {
      this.client = client;
    }

    @Override
    public Handshaker newHandshaker(String authority, SocketAddress remote) {
      return new OneByteHandshaker(client);
    }
  }

  /** The client sends one byte, the server answers one byte: done. Loop thread only. */
  private static final class OneByteHandshaker implements Handshaker {
    private final boolean client;

    OneByteHandshaker(boolean client) {
      this.client = client;
    }

    @Override
    public void start(ByteBuffer out) {
      if (client) {
        out.put(HELLO);
      }
    }

    @Override
    public boolean onBytes(ByteBuffer in, ByteBuffer out) throws IOException {
      if (client) {
        throwIfArmed(handshakeError);
      }
      if (!in.hasRemaining()) {
        return false;
      }
      if (in.get() != HELLO) {
        throw new IOException("bad hello");
      }
      if (!client) {
        out.put(HELLO);
      }
      return true;
    }

    @Override
    public int maxOutputBytes() {
      return 1;
    }

    @Override
    public int pendingBytes() {
      return 0;
    }

    @Override
    public RecordProtector protector() {
      return new PlainRecords(client);
    }

    @Override
    public Attributes attributes() {
      return Attributes.EMPTY;
    }

    @Override
    public InternalChannelz.Security security() {
      return null;
    }

    @Override
    public void close() {}
  }

  /** Records are the plaintext; the client's throw when armed. Loop thread only. */
  private static final class PlainRecords implements RecordProtector {
    private final boolean client;

    PlainRecords(boolean client) {
      this.client = client;
    }

    @Override
    public void unprotect(ByteBuffer ciphertext, PlaintextSink sink) throws Exception {
      if (client) {
        throwIfArmed(readError);
      }
      sink.onPlaintext(ciphertext);
    }

    @Override
    public int maxProtectedBytes(int plaintextBytes) {
      return plaintextBytes;
    }

    @Override
    public void protect(ByteBuffer plaintext, ByteBuffer out) {
      if (client) {
        throwIfArmed(writeError);
      }
      out.put(plaintext);
    }

    @Override
    public int pendingBytes() {
      return 0;
    }

    @Override
    public void release() {}
  }

  private static void throwIfArmed(Supplier<Error> error) {
    if (error != null) {
      throw error.get();
    }
  }
}
