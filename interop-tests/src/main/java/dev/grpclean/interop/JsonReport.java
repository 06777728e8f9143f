package dev.grpclean.interop;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.annotation.Nullable;

/**
 * Writes the client's {@code --report} file: the run's setup, the totals and one entry per case
 * run, in the order run.
 *
 * <p>Thread-safe (stateless).
 */
final class JsonReport {
  private JsonReport() {}

  static void write(
      Path file, ClientConfig config, List<CaseResult> results, @Nullable String unsupported)
      throws IOException {
    long passed = results.stream().filter(CaseResult::passed).count();
    StringBuilder json = new StringBuilder();
    json.append("{\n  \"transport\": ").append(quote(config.transport.toString()))
        .append(",\n  \"security\": ").append(quote(config.security.mode().toString()))
        .append(",\n  \"server\": ").append(quote(config.target()))
        .append(",\n  \"unsupported\": ").append(quote(unsupported))
        .append(",\n  \"passed\": ").append(passed)
        .append(",\n  \"failed\": ").append(results.size() - passed)
        .append(",\n  \"cases\": [");
    for (int i = 0; i < results.size(); i++) {
      CaseResult r = results.get(i);
      json.append(i == 0 ? "\n" : ",\n")
          .append("    {\"case\": ").append(quote(r.testCase()))
          .append(", \"result\": ").append(quote(r.passed() ? "PASS" : "FAIL"))
          .append(", \"millis\": ").append(r.millis())
          .append(", \"reason\": ").append(quote(r.reason())).append('}');
    }
    json.append(results.isEmpty() ? "]\n}\n" : "\n  ]\n}\n");
    Files.writeString(file, json, StandardCharsets.UTF_8);
  }

  /** A JSON string literal (RFC 8259 §7), or {@code null}. */
  static String quote(@Nullable String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
