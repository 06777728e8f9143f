package dev.grpclean.examples;

import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Messages as UTF-8 strings, so the examples need no code generation. With protoc-generated stubs
 * the transport swap the examples show is exactly the same.
 *
 * <p>Thread-safe (stateless).
 */
public enum Utf8Marshaller implements MethodDescriptor.Marshaller<String> {
  INSTANCE;

  @Override
  public InputStream stream(String value) {
    return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String parse(InputStream stream) {
    try {
      return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
