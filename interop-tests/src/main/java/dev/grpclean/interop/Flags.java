package dev.grpclean.interop;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Command-line flags in the form grpc's interop runners use: {@code --key=value}. A bare
 * {@code --key} means {@code --key=true}, so {@code --use_tls} works like {@code --use_tls=true}.
 *
 * <p>Thread-compatible.
 */
final class Flags {
  private final Map<String, String> values = new LinkedHashMap<>();

  /** Parses {@code args}; throws {@link UsageException} on a malformed or unknown flag. */
  static Flags parse(String[] args, Set<String> known) {
    Flags flags = new Flags();
    for (String arg : args) {
      if (!arg.startsWith("--")) {
        throw new UsageException("all arguments must start with '--': " + arg);
      }
      String[] parts = arg.substring(2).split("=", 2);
      String key = parts[0];
      if (key.equals("help")) {
        throw new UsageException(null);
      }
      if (!known.contains(key)) {
        throw new UsageException("unknown flag --" + key);
      }
      flags.values.put(key, parts.length == 2 ? parts[1] : "true");
    }
    return flags;
  }

  boolean has(String key) {
    return values.containsKey(key);
  }

  String string(String key, String defaultValue) {
    return values.getOrDefault(key, defaultValue);
  }

  int integer(String key, int defaultValue) {
    String value = values.get(key);
    if (value == null) {
      return defaultValue;
    }
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new UsageException("--" + key + " wants an integer, got " + value);
    }
  }

  boolean bool(String key, boolean defaultValue) {
    String value = values.get(key);
    if (value == null) {
      return defaultValue;
    }
    switch (value.toLowerCase(Locale.ROOT)) {
      case "true":
        return true;
      case "false":
        return false;
      default:
        throw new UsageException("--" + key + " wants true or false, got " + value);
    }
  }

  /** A bad command line; a null message asks for the usage text alone. */
  static final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }

    /**
     * Ends the command with {@code usage}: for a null message (help asked for) on stdout with exit
     * status 0, else after the message on stderr with {@link InteropServer#EXIT_USAGE}.
     */
    void exitWithUsage(String usage) {
      if (getMessage() == null) {
        System.out.print(usage);
        System.exit(0);
      }
      System.err.println(getMessage());
      System.err.print(usage);
      System.exit(InteropServer.EXIT_USAGE);
    }
  }
}
