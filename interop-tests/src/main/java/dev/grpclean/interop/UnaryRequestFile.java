package dev.grpclean.interop;

import com.google.protobuf.ByteString;
import io.grpc.testing.integration.Messages.Payload;
import io.grpc.testing.integration.Messages.SimpleRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes one gRPC unary request body for {@code grpc.testing.TestService/UnaryCall} to a file, for
 * HTTP/2 tools that know nothing of gRPC (h2load, nghttp): the 5-byte message prefix (flag 0 = not
 * compressed, then the length, big-endian) and a serialized {@code SimpleRequest}.
 *
 * <p>Usage: {@code UnaryRequestFile FILE [REQUEST_PAYLOAD_BYTES [RESPONSE_PAYLOAD_BYTES]]}.
 *
 * <p>Runs on the main thread.
 */
public final class UnaryRequestFile {
  /** gRPC's length-prefixed message header: 1 flag byte and a 4-byte length. */
  private static final int PREFIX_BYTES = 5;

  private UnaryRequestFile() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 1 || args.length > 3) {
      System.err.println("usage: UnaryRequestFile FILE [REQUEST_PAYLOAD_BYTES [RESPONSE_BYTES]]");
      System.exit(2);
    }
    int requestBytes = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int responseBytes = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    byte[] message =
        SimpleRequest.newBuilder()
            .setResponseSize(responseBytes)
            .setPayload(Payload.newBuilder().setBody(ByteString.copyFrom(new byte[requestBytes])))
            .build()
            .toByteArray();
    ByteBuffer body = ByteBuffer.allocate(PREFIX_BYTES + message.length);
    body.put((byte) 0).putInt(message.length).put(message);
    Files.write(Path.of(args[0]), body.array());
  }
}
