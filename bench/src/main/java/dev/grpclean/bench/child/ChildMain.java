package dev.grpclean.bench.child;

import com.google.gson.JsonObject;
import dev.grpclean.bench.Security;
import dev.grpclean.bench.Transport;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Entry point of a forked bench JVM: {@code ChildMain server TRANSPORT} or
 * {@code ChildMain client TRANSPORT PORT}, optionally followed by {@code --security MODE}
 * ({@code insecure} when absent), {@code --keys DIR} (the alts_like key directory, see
 * {@link Security}) and {@code --fault VERB} (tests: the JVM halts when it is asked to run
 * VERB).
 *
 * <p>The parent drives it through stdin and stdout, one line each way:
 * <pre>
 *   parent: VERB key=value key=value
 *   child:  {@literal @@}OK {json}    or    {@literal @@}ERR message
 * </pre>
 * The first reply comes unasked once the JVM is ready (the server's carries its port). Anything
 * else the JVM prints goes to stderr, which the parent keeps in a log file. The JVM exits on
 * {@code quit} or when stdin closes, so it never outlives its parent for long.
 *
 * <p>Confined to the main thread.
 */
public final class ChildMain {
  /** Exit status of a JVM halted on purpose by {@code --fault}. */
  public static final int FAULT_EXIT_STATUS = 13;

  private ChildMain() {}

  /** One role: answers the commands of its side. */
  interface Role {
    JsonObject handle(String verb, Map<String, String> args) throws Exception;

    void close();
  }

  public static void main(String[] args) throws Exception {
    PrintStream protocol = System.out;
    System.setOut(System.err);
    List<String> positional = new ArrayList<>();
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].startsWith("--") && i + 1 < args.length) {
        options.put(args[i], args[++i]);
      } else {
        positional.add(args[i]);
      }
    }
    String fault = options.get("--fault");
    Role role;
    try {
      Transport transport = Transport.parse(positional.get(1));
      Security security = Security.parse(options.getOrDefault("--security", "insecure"));
      Path keys = options.containsKey("--keys") ? Path.of(options.get("--keys")) : null;
      if (positional.get(0).equals("server")) {
        role = new ServerRole(transport, security, keys);
      } else if (positional.get(0).equals("client")) {
        role = new ClientRole(transport, security, keys, "127.0.0.1",
            Integer.parseInt(positional.get(2)));
      } else {
        throw new IllegalArgumentException("unknown role " + positional.get(0));
      }
    } catch (Throwable t) {
      t.printStackTrace();
      protocol.println("@@ERR could not start: " + describe(t));
      protocol.flush();
      System.exit(1);
      return;
    }
    protocol.println("@@OK " + role.handle("ready", Map.of()));
    protocol.flush();
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try {
      for (String line; (line = in.readLine()) != null; ) {
        String[] words = line.trim().split("\\s+");
        String verb = words[0];
        if (verb.equals(fault)) {
          System.err.println("halting on purpose before '" + verb + "' (--fault)");
          Runtime.getRuntime().halt(FAULT_EXIT_STATUS);
        }
        if (verb.equals("quit")) {
          protocol.println("@@OK {}");
          protocol.flush();
          break;
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 1; i < words.length; i++) {
          int eq = words[i].indexOf('=');
          params.put(words[i].substring(0, eq), words[i].substring(eq + 1));
        }
        String reply;
        try {
          reply = "@@OK " + role.handle(verb, params);
        } catch (Throwable t) {
          t.printStackTrace();
          reply = "@@ERR " + describe(t);
        }
        protocol.println(reply);
        protocol.flush();
      }
    } finally {
      role.close();
    }
    System.exit(0);
  }

  static String describe(Throwable t) {
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return message.replace('\n', ' ');
  }
}
