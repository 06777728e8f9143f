package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import dev.grpclean.bench.BenchService;
import dev.grpclean.bench.Security;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Client-streaming uploads that arrive slowly, to see what the server holds for a partial
 * message. A raw HTTP/2 client (plain Netty, not any gRPC transport) opens {@code n}
 * connections, one Upload stream each, and sends one gRPC message of {@code messageBytes} in
 * pieces of {@code pieceBytes}: one piece per connection per round, {@code pauseMs} between
 * rounds. Each command advances every stream until {@code pendingBytes} of its message have
 * been written to the socket; {@code finish=true} sends the rest, ends the streams and checks
 * the server's answers. The gRPC client library would send a whole message at once, which is
 * why this client speaks HTTP/2 itself.
 *
 * <p>{@code --security tls}: JDK TLS with ALPN {@code h2}, trusting grpc-testing's CA and
 * claiming {@link Security#TLS_AUTHORITY}, like the gRPC clients. {@code alts_like} is not
 * possible with this client (the parent reports trickle as unsupported in that mode).
 *
 * <p>Confined to {@link ChildMain}'s thread; socket work runs on one Netty event loop.
 */
final class TrickleLoad implements AutoCloseable {
  private static final int GRPC_PREFIX_BYTES = 5;

  private final String host;
  private final int port;
  private final SslContext ssl;
  private final EventLoopGroup group = new NioEventLoopGroup(1);
  private final List<Upload> uploads = new ArrayList<>();
  private int messageBytes;

  TrickleLoad(String host, int port, Security security) throws IOException {
    this.host = host;
    this.port = port;
    switch (security) {
      case INSECURE:
        ssl = null;
        break;
      case TLS:
        try (java.io.InputStream ca = Security.caCertificate()) {
            ssl = SslContextBuilder.forClient()
              .sslProvider(SslProvider.JDK)
              .trustManager(ca)
              .applicationProtocolConfig(new ApplicationProtocolConfig(
                  ApplicationProtocolConfig.Protocol.ALPN,
                  ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                  ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                  ApplicationProtocolNames.HTTP_2))
              .build();
        }
        break;
      default:
        throw new IllegalArgumentException(
            "the trickle client cannot do --security " + security.id());
    }
  }

  /** One connection and its one stream. Fields touched on the event loop are atomic. */
  private static final class Upload {
    final Channel channel;
    final Http2FrameStream stream;
    /** Bytes of the gRPC message (its 5-byte prefix included) handed to the socket. */
    final AtomicLong written = new AtomicLong();
    long queued;
    final CountDownLatch answered = new CountDownLatch(1);
    volatile String grpcStatus;

    Upload(Channel channel, Http2FrameStream stream) {
      this.channel = channel;
      this.stream = stream;
    }
  }

  JsonObject run(Map<String, String> args) throws InterruptedException {
    long start = System.nanoTime();
    int pieceBytes = Integer.parseInt(args.getOrDefault("pieceBytes", "16384"));
    long pauseMillis = Long.parseLong(args.getOrDefault("pauseMs", "20"));
    if (uploads.isEmpty()) {
      messageBytes = Integer.parseInt(args.getOrDefault("messageBytes", String.valueOf(1 << 20)));
      open(Integer.parseInt(args.get("n")));
    }
    long total = GRPC_PREFIX_BYTES + (long) messageBytes;
    boolean finish = Boolean.parseBoolean(args.getOrDefault("finish", "false"));
    long target = finish ? total : Math.min(total - 1, Long.parseLong(args.get("pendingBytes")));
    while (uploads.get(0).queued < target) {
      for (Upload u : uploads) {
        int n = (int) Math.min(pieceBytes, target - u.queued);
        boolean last = u.queued + n == total;
        send(u, n, last);
      }
      if (uploads.get(0).queued < target) {
        Thread.sleep(pauseMillis);
      }
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (Upload u : uploads) {
      while (u.written.get() < target) {
        if (System.nanoTime() > deadline || !u.channel.isActive()) {
          throw new IllegalStateException("the server stopped taking upload bytes at "
              + u.written.get() + " of " + target + " (connection "
              + (u.channel.isActive() ? "open" : "closed") + ")");
        }
        Thread.sleep(5);
      }
    }
    JsonObject o = new JsonObject();
    o.addProperty("connections", uploads.size());
    o.addProperty("pendingBytesPerConnection", target);
    if (finish) {
      int ok = 0;
      for (Upload u : uploads) {
        if (!u.answered.await(60, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the server did not answer a finished upload");
        }
        if ("0".equals(u.grpcStatus)) {
          ok++;
        }
      }
      if (ok != uploads.size()) {
        throw new IllegalStateException((uploads.size() - ok) + " uploads failed");
      }
      o.addProperty("completed", ok);
    }
    o.addProperty("seconds", (System.nanoTime() - start) / 1e9);
    return o;
  }

  private void open(int n) throws InterruptedException {
    Bootstrap bootstrap = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            if (ssl != null) {
              ch.pipeline().addLast(ssl.newHandler(ch.alloc(), Security.TLS_AUTHORITY, port));
            }
            ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(), new Answers());
          }
        });
    for (int i = 0; i < n; i++) {
      ChannelFuture connect = bootstrap.connect(host, port).await();
      if (!connect.isSuccess()) {
        throw new IllegalStateException(
            "cannot reach the server at " + host + ":" + port + ": " + connect.cause());
      }
      Channel channel = connect.channel();
      if (ssl != null) {
        io.netty.util.concurrent.Future<Channel> handshake =
            channel.pipeline().get(SslHandler.class).handshakeFuture().await();
        if (!handshake.isSuccess()) {
          throw new IllegalStateException("TLS handshake with " + host + ":" + port
              + " failed: " + handshake.cause());
        }
      }
      Http2FrameStream stream = channel.pipeline().get(Answers.class).newStream();
      Upload upload = new Upload(channel, stream);
      channel.attr(Answers.UPLOAD).set(upload);
      Http2Headers headers = new DefaultHttp2Headers()
          .method("POST").scheme(ssl != null ? "https" : "http")
          .authority(ssl != null ? Security.TLS_AUTHORITY : host + ":" + port)
          .path("/" + BenchService.UPLOAD.getFullMethodName())
          .set("content-type", "application/grpc").set("te", "trailers");
      channel.writeAndFlush(new DefaultHttp2HeadersFrame(headers, false).stream(stream)).sync();
      uploads.add(upload);
    }
  }

  private void send(Upload u, int n, boolean endStream) {
    ByteBuf piece = Unpooled.buffer(n);
    int zeros = n;
    if (u.queued == 0) {
      piece.writeByte(0).writeInt(messageBytes);
      zeros -= GRPC_PREFIX_BYTES;
    }
    piece.writeZero(zeros);
    u.queued += n;
    u.channel.writeAndFlush(new DefaultHttp2DataFrame(piece, endStream).stream(u.stream))
        .addListener(f -> {
          if (f.isSuccess()) {
            u.written.addAndGet(n);
          }
        });
  }

  /** Records each stream's grpc-status from its trailers. Runs on the event loop. */
  private static final class Answers extends Http2ChannelDuplexHandler {
    static final io.netty.util.AttributeKey<Upload> UPLOAD =
        io.netty.util.AttributeKey.valueOf("grpclean.bench.upload");

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        Upload u = ctx.channel().attr(UPLOAD).get();
        if (u == null) {
          return;
        }
        if (msg instanceof Http2HeadersFrame) {
          Http2HeadersFrame frame = (Http2HeadersFrame) msg;
          CharSequence status = frame.headers().get("grpc-status");
          if (status != null) {
            u.grpcStatus = status.toString();
          }
          if (frame.isEndStream()) {
            u.answered.countDown();
          }
        } else if (msg instanceof Http2DataFrame && ((Http2DataFrame) msg).isEndStream()) {
          u.answered.countDown();
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }
  }

  @Override
  public void close() {
    for (Upload u : uploads) {
      u.channel.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
