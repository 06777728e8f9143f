package dev.grpclean.transport.frame;

import static dev.grpclean.transport.testing.FuzzInput.encode;
import static dev.grpclean.transport.testing.RawFrames.concat;
import static dev.grpclean.transport.testing.RawFrames.data;
import static dev.grpclean.transport.testing.RawFrames.frame;
import static dev.grpclean.transport.testing.RawFrames.headers;
import static dev.grpclean.transport.testing.RawFrames.ping;
import static dev.grpclean.transport.testing.RawFrames.settings;
import static dev.grpclean.transport.testing.RawFrames.settingsAck;

import dev.grpclean.transport.testing.RawFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Writes the committed seeds of this module's fuzz targets ({@code FrameReaderFuzzTest} and
 * {@code dev.grpclean.transport.ServerConnectionFuzzTest}) under a test resources root, in the
 * input layout each target documents. Crash reproducers found later are committed by hand next to
 * these; this only rewrites the named seeds. Run from the repository root:
 *
 * <pre>
 * mvn -o -q -pl grpc-lean-transport test-compile exec:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=dev.grpclean.transport.frame.FuzzCorpus \
 *   -Dexec.args=grpc-lean-transport/src/test/resources
 * </pre>
 *
 * <p>Header blocks are mostly literal, unindexed-name HPACK without Huffman coding, so mutations of
 * a name or value stay decodable; one seed uses our own encoder (Huffman, dynamic table).
 *
 * <p>Not thread-safe; a main.
 */
public final class FuzzCorpus {
  private static final String ECHO = "/test.Echo/Unary";
  private static final String SINK = "/test.Stall/Sink";
  /** Option bits of FrameReaderFuzzTest: side, preface, header block cap, header list limit. */
  private static final int CLIENT = 1;
  private static final int PREFACE_FROM_INPUT = 2;
  private static final int CAP_24 = 1 << 2;
  private static final int LIST_LIMIT_64 = 0;
  private static final int LIST_LIMIT_8K = 1 << 5;
  private static final int DEFAULT_CAP = 4 << 2;

  private FuzzCorpus() {}

  public static void main(String[] args) throws IOException {
    Path root = Paths.get(args.length > 0 ? args[0] : "src/test/resources");
    Path frames = root.resolve("dev/grpclean/transport/frame/FrameReaderFuzzTestInputs/readFrames");
    Path server = root.resolve("dev/grpclean/transport/ServerConnectionFuzzTestInputs"
        + "/serveConnection");
    Files.createDirectories(frames);
    Files.createDirectories(server);

    // --- FrameReaderFuzzTest: the server side unless noted.
    write(frames, "grpc-request", encode(DEFAULT_CAP | LIST_LIMIT_8K, new int[0],
        settings(4, 65535, 5, 16384), settingsAck(), headers(1, request(ECHO), false),
        data(1, grpcMessage("hello"), true)));
    write(frames, "continuation-padded-priority-split", encode(DEFAULT_CAP | LIST_LIMIT_8K,
        new int[] {3, 24, 40, 41, 55, 60, 75}, settings(),
        paddedPriorityHeadersWithContinuations(1, request(ECHO)),
        frame(FrameType.DATA, FrameType.PADDED | FrameType.END_STREAM, 1,
            concat(new byte[] {4}, grpcMessage("hi"), new byte[4]))));
    write(frames, "hpack-dynamic-table", encode(DEFAULT_CAP | LIST_LIMIT_8K, new int[0],
        settings(1, 4096), headers(1, indexedRequest(ECHO), true),
        headers(3, concat(new byte[] {0x3f, (byte) 0xe1, 0x1f}, hex("8386c1c0bfbe")), false),
        settingsAck()));
    write(frames, "client-every-frame-type-split", encode(CLIENT | DEFAULT_CAP | LIST_LIMIT_8K,
        new int[] {1, 5, 9, 10, 17, 30, 31, 44, 60, 61, 62, 90, 100, 120, 140},
        settings(1, 4096, 2, 0, 3, 100, 4, 65535, 5, 16384, 6, 8192, 9, 1),
        ping(false, 1), ping(true, 2),
        frame(FrameType.PRIORITY, 0, 3, hex("80000001 0f")),
        frame(FrameType.WINDOW_UPDATE, 0, 0, hex("00001000")),
        frame(FrameType.WINDOW_UPDATE, 0, 1, hex("00000400")),
        encodedResponseHeaders(1),
        frame(FrameType.DATA, 0, 1, grpcMessage("response")),
        frame(0x0b, 0, 0, hex("0102030405")), // unknown type: skipped
        headers(1, literal("grpc-status", "0"), true),
        frame(FrameType.RST_STREAM, 0, 3, hex("00000008")),
        frame(FrameType.GOAWAY, 0, 0, concat(hex("00000001 00000000"),
            "bye".getBytes(StandardCharsets.US_ASCII)))));
    write(frames, "header-block-over-cap", encode(CAP_24 | LIST_LIMIT_8K, new int[0],
        settings(), frame(FrameType.HEADERS, 0, 1, slice(request(ECHO), 0, 20)),
        frame(FrameType.CONTINUATION, FrameType.END_HEADERS, 1,
            slice(request(ECHO), 20, request(ECHO).length))));
    write(frames, "header-list-over-limit", encode(DEFAULT_CAP | LIST_LIMIT_64, new int[0],
        settings(), headers(1, concat(request(ECHO), literal("x-big", "x".repeat(80))), true),
        ping(false, 3)));
    write(frames, "http1-instead-of-preface", encode(PREFACE_FROM_INPUT, new int[0],
        "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));

    // --- ServerConnectionFuzzTest: the same layout (it sends the preface itself); byte 0 bit 0
    // ends the connection with a reset instead of a half-close.
    byte[] handshake = concat(settings(), settingsAck());
    write(server, "unary-echo", encode(0, new int[0], handshake,
        headers(1, request(ECHO), false), data(1, grpcMessage("hello"), true)));
    write(server, "unary-echo-pieces-reset", encode(1, new int[] {2, 9, 15, 30, 31, 50, 70},
        handshake, headers(1, request(ECHO), false), data(1, grpcMessage("hello"), true)));
    write(server, "continuation-request-and-ping", encode(0, new int[] {12, 40},
        handshake, paddedPriorityHeadersWithContinuations(1, request(ECHO)),
        data(1, grpcMessage("hello"), true), ping(false, 7)));
    write(server, "sink-data-then-cancel", encode(0, new int[0], handshake,
        headers(1, request(SINK), false), data(1, grpcMessage("a"), false),
        frame(FrameType.WINDOW_UPDATE, 0, 1, hex("00000100")),
        frame(FrameType.RST_STREAM, 0, 1, hex("00000008")),
        data(1, grpcMessage("late"), false), ping(false, 9)));
    write(server, "non-grpc-requests", encode(0, new int[0], handshake,
        headers(1, concat(hex("8286"), literal(":path", ECHO), literal(":authority", "x"),
            literal("content-type", "text/plain")), false),
        data(1, "body".getBytes(StandardCharsets.US_ASCII), true),
        headers(3, concat(hex("8386"), literal(":path", "no-slash"), literal(":authority", "x"),
            literal("content-type", "application/grpc")), true)));
    byte[] streams = new byte[0];
    for (int id = 1; id <= 11; id += 2) {
      streams = concat(streams, headers(id, request(SINK), false));
    }
    write(server, "refused-streams-then-goaway", encode(1, new int[0], handshake, streams,
        frame(FrameType.GOAWAY, 0, 0, hex("00000000 00000000"))));
    write(server, "zero-window-then-updates", encode(0, new int[0],
        settings(4, 0), settingsAck(), headers(1, request(ECHO), false),
        data(1, grpcMessage("hello"), true), settings(4, 100),
        frame(FrameType.WINDOW_UPDATE, 0, 1, hex("00010000")),
        frame(FrameType.WINDOW_UPDATE, 0, 0, hex("00010000"))));
    write(server, "data-on-stream-zero", encode(0, new int[0], handshake,
        data(0, hex("00"), false)));
  }

  private static void write(Path dir, String name, byte[] input) throws IOException {
    Files.write(dir.resolve(name), input);
  }

  /** HEADERS (padded, with priority, no END_HEADERS) and two CONTINUATION frames. */
  private static byte[] paddedPriorityHeadersWithContinuations(int streamId, byte[] block) {
    int third = block.length / 3;
    byte[] first = concat(new byte[] {2}, hex("00000000 0f"), slice(block, 0, third),
        new byte[2]);
    return concat(
        frame(FrameType.HEADERS, FrameType.PADDED | FrameType.PRIORITY_FLAG, streamId, first),
        frame(FrameType.CONTINUATION, 0, streamId, slice(block, third, 2 * third)),
        frame(FrameType.CONTINUATION, FrameType.END_HEADERS, streamId,
            slice(block, 2 * third, block.length)));
  }

  /** A gRPC request's header block: static-table method and scheme, literals for the rest. */
  private static byte[] request(String path) {
    return concat(hex("8386"), literal(":path", path), literal(":authority", "localhost"),
        literal("content-type", "application/grpc"), literal("te", "trailers"));
  }

  /** The request with incremental indexing, so the next block can refer to the dynamic table. */
  private static byte[] indexedRequest(String path) {
    return concat(hex("8386"), hex("44"), string(path), hex("41"), string("localhost"),
        hex("5f"), string("application/grpc"), hex("40"), string("te"), string("trailers"));
  }

  /** Literal header field without indexing, new name, no Huffman coding (RFC 7541 §6.2.2). */
  private static byte[] literal(String name, String value) {
    return concat(new byte[] {0}, string(name), string(value));
  }

  private static byte[] string(String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    if (b.length > 126) {
      return concat(new byte[] {0x7f, (byte) (b.length - 127)}, b);
    }
    return concat(new byte[] {(byte) b.length}, b);
  }

  /** One uncompressed gRPC message carrying {@code text}. */
  private static byte[] grpcMessage(String text) {
    return RawFrames.grpcMessage(text.getBytes(StandardCharsets.US_ASCII));
  }

  /** Response headers as our own encoder writes them: Huffman, dynamic table, size update. */
  private static byte[] encodedResponseHeaders(int streamId) {
    ByteBuf out = Unpooled.buffer();
    try {
      new HeaderBlockEncoder().encode(streamId, new DefaultHttp2Headers().status("200")
          .add("content-type", "application/grpc").add("grpc-encoding", "identity"), out);
      return frame(FrameType.HEADERS, FrameType.END_HEADERS, streamId, ByteBufUtil.getBytes(out));
    } catch (Http2ConnectionError | Http2StreamError e) {
      throw new AssertionError(e);
    } finally {
      out.release();
    }
  }

  private static byte[] hex(String hex) {
    return Hex.bytes(hex);
  }

  private static byte[] slice(byte[] b, int from, int to) {
    return java.util.Arrays.copyOfRange(b, from, to);
  }
}