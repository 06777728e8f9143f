package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.grpclean.transport.frame.HeaderBlockEncoder;
import io.grpc.Attributes;
import io.grpc.InternalChannelz;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/**
 * The gathering write on a real plaintext socket ({@link SecureSocket#write(ByteBuffer[], int,
 * int)} under a {@link LoopyWriter}): a peer that does not read at first, then reads in small
 * pieces, makes the kernel's send buffer fill, so the writer's batches are cut at arbitrary
 * points; the bytes the peer gets are exactly the frames queued, and every lease goes back. A
 * peer that goes away while a batch is blocked fails the write, and the leases still go back.
 *
 * <p>The test thread plays the connection's loop (it alone touches the writer and the socket);
 * the peer reads on its own thread.
 */
public class SocketGatherTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private static final int BYTES = 3 << 20;

  private final long leasedBaseline = LeanTransportStats.leasedBytes();
  private ServerSocketChannel listener;
  private SocketChannel peer;
  private SocketChannel channel;
  private Selector selector;
  private SecureSocket socket;
  private LoopyWriter writer;
  private final ConnectionCounters counters = new ConnectionCounters(true);

  @Before
  public void connect() throws IOException {
    listener = ServerSocketChannel.open()
        .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    peer = SocketChannel.open();
    peer.setOption(StandardSocketOptions.SO_RCVBUF, 8 * 1024);
    peer.connect(listener.getLocalAddress());
    channel = listener.accept();
    channel.setOption(StandardSocketOptions.SO_SNDBUF, 8 * 1024);
    channel.configureBlocking(false);
    selector = Selector.open();
    channel.register(selector, SelectionKey.OP_WRITE);
    socket = new SecureSocket(channel, new NoUpstream(), counters);
    assertTrue(socket.gathers());
    writer = new LoopyWriter(new SocketOutput(), new HeaderBlockEncoder(), counters);
    assertTrue(writer.updateConnectionWindow(Integer.MAX_VALUE / 2));
  }

  @After
  public void close() throws IOException {
    writer.close();
    selector.close();
    channel.close();
    peer.close();
    listener.close();
    dev.grpclean.transport.testing.LeanLeases.assertBackTo(leasedBaseline);
  }

  @Test
  public void slowPeerCutsBatchesAnywhereAndGetsExactFrames() throws Exception {
    OutboundStream s = new OutboundStream(1, Integer.MAX_VALUE / 2,
        new LoopyWriterTestBase.StreamRecorder(), writer);
    queuePattern(s, BYTES);
    writer.flush();
    assertTrue("the send buffer filled before the peer read", writer.isBlocked());

    CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(this::readSlowly);
    int resumes = 0;
    while (!writer.isIdle()) {
      selector.select(1000);
      selector.selectedKeys().clear();
      writer.onWritable();
      resumes++;
    }
    byte[] wire = received.get(30, TimeUnit.SECONDS);
    List<WireFrame> frames = WireFrame.parseAll(wire);
    LoopyWriterTestBase.assertPattern(LoopyWriterTestBase.dataOf(frames, 1), 1, BYTES);
    assertTrue("resumed after partial writes: " + resumes, resumes > 1);
    assertEquals(wire.length, writer.bytesWritten());
  }

  @Test
  public void peerGoneWhileBlockedFailsTheWriteAndReturnsEveryLease() throws Exception {
    OutboundStream s = new OutboundStream(1, Integer.MAX_VALUE / 2,
        new LoopyWriterTestBase.StreamRecorder(), writer);
    queuePattern(s, BYTES);
    writer.flush();
    assertTrue(writer.isBlocked());
    peer.setOption(StandardSocketOptions.SO_LINGER, 0);
    peer.close(); // a reset: the next write fails
    assertThrows(IOException.class, () -> {
      while (true) {
        selector.select(1000);
        selector.selectedKeys().clear();
        writer.onWritable();
      }
    });
    writer.close();
    s.discard();
  }

  private void queuePattern(OutboundStream s, int length) {
    for (int done = 0; done < length; ) {
      int n = Math.min(64 * 1024, length - done);
      ByteBuffer chunk = LeanBuffers.leaseOutbound(n);
      for (int i = 0; i < n; i++) {
        chunk.put(LoopyWriterTestBase.patternByte(s.id, done + i));
      }
      chunk.flip();
      done += n;
      writer.enqueueData(s, chunk, done == length);
    }
  }

  /** Reads until the stream's END_STREAM frame has come, a little at a time. */
  private byte[] readSlowly() {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] piece = new byte[3000];
    try (InputStream in = peer.socket().getInputStream()) {
      long want = BYTES + 9L * ((BYTES + 16_383) / 16_384);
      while (all.size() < want) {
        int n = in.read(piece);
        if (n < 0) {
          break;
        }
        all.write(piece, 0, n);
      }
    } catch (IOException e) {
      throw new RuntimeException(e);
    }
    return all.toByteArray();
  }

  /** The connection side of the writer: this test's socket. */
  private final class SocketOutput implements LoopyWriter.Output {
    @Override
    public boolean write(ByteBuffer buf) throws IOException {
      return socket.write(buf);
    }

    @Override
    public boolean gathers() {
      return socket.gathers();
    }

    @Override
    public boolean write(ByteBuffer[] bufs, int offset, int length) throws IOException {
      return socket.write(bufs, offset, length);
    }

    @Override
    public void setWriteInterest(boolean on) {}

    @Override
    public void onHeadersFailed(int streamId, Exception cause) {
      throw new AssertionError(cause);
    }
  }

  /** Nothing is read in these tests. */
  private static final class NoUpstream implements SecureSocket.Upstream {
    @Override
    public void socketConnectable() {}

    @Override
    public void socketWritable() {}

    @Override
    public void socketBytesRead() {}

    @Override
    public void onPlaintext(ByteBuffer plain) {}

    @Override
    public void socketSecured(Attributes attrs, InternalChannelz.Security security) {}

    @Override
    public void socketEndOfInput() {}

    @Override
    public void socketConnectionError(dev.grpclean.transport.frame.Http2ConnectionError e) {}

    @Override
    public void socketFailed(Status status) {}

    @Override
    public void socketReadDone() {}
  }
}
