package dev.grpclean.bench.attack;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one attack on one server came to, from the attacker's side: the answers of all its
 * connections, summed up as the server's response ({@link #response()}), how the connections
 * ended ({@link #closed()}) and how many frames got in ({@link #framesSent()}), plus facts the
 * attack itself noted (streams opened, bytes a header block decodes to, ...). Nothing here
 * expects a particular answer: a server that does nothing is reported as "nothing" and "open".
 *
 * <p>Immutable once built; the answers must no longer change.
 */
public final class Outcome {
  /** Characters of GOAWAY debug text shown in the table (the JSON has all of it). */
  static final int DEBUG_CHARS = 48;

  final String attack;
  final List<ServerAnswer> answers;
  final Map<String, Object> facts;

  Outcome(String attack, List<ServerAnswer> answers, Map<String, Object> facts) {
    this.attack = attack;
    this.answers = List.copyOf(answers);
    this.facts = new LinkedHashMap<>(facts);
  }

  public int connections() {
    return answers.size();
  }

  public int closedConnections() {
    return (int) answers.stream().filter(ServerAnswer::closed).count();
  }

  /** Whole frames the server's sockets took from the attacker, over all connections. */
  public long framesSent() {
    long n = 0;
    for (ServerAnswer a : answers) {
      n += a.framesSent;
    }
    return n;
  }

  /** Whether the server stopped taking the attacker's bytes on some connection. */
  public boolean stalled() {
    return answers.stream().anyMatch(a -> a.stalledAtMillis >= 0);
  }

  /** The server's answer in one line: GOAWAY, RST_STREAM codes, error statuses, or nothing. */
  public String response() {
    if (answers.size() == 1) {
      return describe(answers.get(0));
    }
    Map<String, Integer> groups = new LinkedHashMap<>();
    for (ServerAnswer a : answers) {
      groups.merge(describe(a), 1, Integer::sum);
    }
    List<String> parts = new ArrayList<>();
    groups.forEach((what, n) -> parts.add(what + " ×" + n));
    return String.join("; ", parts);
  }

  /** How the connections ended: "EOF at 1.2 s", "open", "500/500 closed (reset) at 1–2 s". */
  public String closed() {
    if (answers.size() == 1) {
      ServerAnswer a = answers.get(0);
      String s = a.closed() ? closeLabel(a) + " at " + time(a.closedAtMillis)
          : a.connectedAtMillis < 0 ? "still connecting" : "open";
      if (a.stalledAtMillis >= 0) {
        s += "; stopped reading at " + time(a.stalledAtMillis);
      }
      return s;
    }
    List<ServerAnswer> closed = new ArrayList<>();
    for (ServerAnswer a : answers) {
      if (a.closed()) {
        closed.add(a);
      }
    }
    long connecting = answers.stream()
        .filter(a -> !a.closed() && a.connectedAtMillis < 0).count();
    String pending = connecting == 0 ? "" : "; " + connecting + " still connecting";
    if (closed.isEmpty()) {
      return (connecting == 0 ? "all " + answers.size() + " open"
          : (answers.size() - connecting) + "/" + answers.size() + " open") + pending;
    }
    Map<String, Integer> kinds = new TreeMap<>();
    long first = Long.MAX_VALUE;
    long last = 0;
    for (ServerAnswer a : closed) {
      kinds.merge(closeLabel(a), 1, Integer::sum);
      first = Math.min(first, a.closedAtMillis);
      last = Math.max(last, a.closedAtMillis);
    }
    List<String> kindParts = new ArrayList<>();
    kinds.forEach((k, n) -> kindParts.add(kinds.size() == 1 ? k : k + " ×" + n));
    String when = first == last ? time(first) : time(first) + "–" + time(last);
    return closed.size() + "/" + answers.size() + " closed (" + String.join(", ", kindParts)
        + ") at " + when + pending;
  }

  /** {@link #framesSent()} for the table; "(stalled)" when the server stopped reading. */
  public String framesCell() {
    return String.format(Locale.ROOT, "%,d", framesSent()) + (stalled() ? " (stalled)" : "");
  }

  /**
   * What else the attack learned, in a few words: how far behind the server was, how many
   * streams it answered, a handshake that did not complete, an attack that could not run.
   */
  public String note() {
    List<String> parts = new ArrayList<>();
    Object handshake = facts.get("handshake");
    if (handshake != null && !"done".equals(handshake)) {
      parts.add("handshake " + handshake);
    }
    Object caughtUp = facts.get("serverCaughtUpMs");
    if (caughtUp instanceof Number) {
      parts.add("server done " + time(((Number) caughtUp).longValue()) + " after the last frame");
    } else if (caughtUp != null) {
      parts.add("server not done: " + caughtUp);
    }
    if (facts.containsKey("responseHeaders")) {
      parts.add("HEADERS on " + facts.get("responseHeaders") + " of " + facts.get("streams")
          + " streams");
    }
    if (facts.containsKey("handshaken")) {
      parts.add(facts.get("handshaken") + " of " + connections() + " handshaken"
          + (facts.containsKey("handshakenMs")
              ? " in " + time(((Number) facts.get("handshakenMs")).longValue()) : ""));
    } else if (facts.containsKey("connectedMs")) {
      parts.add("all connected in " + time(((Number) facts.get("connectedMs")).longValue()));
    }
    if (facts.containsKey("skipped")) {
      parts.add("skipped: " + facts.get("skipped"));
    }
    return parts.isEmpty() ? "-" : String.join("; ", parts);
  }

  /** The server's answer on one connection. */
  static String describe(ServerAnswer a) {
    List<String> parts = new ArrayList<>();
    ServerAnswer.GoAway g = a.mainGoAway();
    if (g != null) {
      String debug = g.debug.strip();
      parts.add("GOAWAY " + g.codeName()
          + (debug.isEmpty() ? "" : " \"" + abbreviate(debug, DEBUG_CHARS) + "\""));
    }
    if (!a.rstStreams.isEmpty()) {
      parts.add("RST_STREAM " + counts(a.rstStreams));
    }
    if (!a.statuses.isEmpty()) {
      parts.add(counts(a.statuses));
    }
    if (a.parseError != null) {
      parts.add("unparseable (" + abbreviate(a.parseError, DEBUG_CHARS) + ")");
    }
    if (parts.isEmpty()) {
      parts.add(a.close == ServerAnswer.Close.REFUSED ? "connection refused"
          : a.unreadAtClose ? "none seen (reset while its replies were unread)" : "nothing");
    }
    return String.join("; ", parts);
  }

  static String closeLabel(ServerAnswer a) {
    switch (a.close) {
      case EOF:
        return "EOF";
      case RESET:
        return "reset";
      default:
        return "refused";
    }
  }

  /** "CANCEL ×3, REFUSED_STREAM" in the map's order. */
  static String counts(Map<String, Integer> counts) {
    List<String> parts = new ArrayList<>();
    counts.forEach((k, n) -> parts.add(n == 1 ? k : k + String.format(Locale.ROOT, " ×%,d", n)));
    return String.join(", ", parts);
  }

  static String time(long millis) {
    return millis < 1000 ? millis + " ms"
        : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
  }

  static String abbreviate(String s, int max) {
    String oneLine = s.replaceAll("\\s+", " ");
    return oneLine.length() <= max ? oneLine : oneLine.substring(0, max - 1) + "…";
  }

  /** Everything recorded: summed over connections, each connection in full when there are few. */
  public JsonObject toJson() {
    JsonObject o = new JsonObject();
    o.addProperty("response", response());
    o.addProperty("closed", closed());
    o.addProperty("connections", connections());
    o.addProperty("closedConnections", closedConnections());
    o.addProperty("framesSent", framesSent());
    o.addProperty("note", note());
    long bytes = 0;
    Map<String, Integer> received = new TreeMap<>();
    Map<String, Integer> rst = new TreeMap<>();
    Map<String, Integer> statuses = new TreeMap<>();
    Map<String, Integer> goAways = new TreeMap<>();
    Map<String, Integer> closeKinds = new TreeMap<>();
    List<Long> closeTimes = new ArrayList<>();
    for (ServerAnswer a : answers) {
      bytes += a.bytesSent;
      a.framesReceived.forEach((k, n) -> received.merge(k, n, Integer::sum));
      a.rstStreams.forEach((k, n) -> rst.merge(k, n, Integer::sum));
      a.statuses.forEach((k, n) -> statuses.merge(k, n, Integer::sum));
      for (ServerAnswer.GoAway g : a.goAways) {
        goAways.merge(g.codeName() + " \"" + g.debug + "\"", 1, Integer::sum);
      }
      if (a.closed()) {
        closeKinds.merge(closeLabel(a), 1, Integer::sum);
        closeTimes.add(a.closedAtMillis);
      }
    }
    o.addProperty("bytesSent", bytes);
    o.add("framesReceived", toJson(received));
    o.add("goAways", toJson(goAways));
    o.add("rstStreams", toJson(rst));
    o.add("errorStatuses", toJson(statuses));
    o.add("closeKinds", toJson(closeKinds));
    if (!closeTimes.isEmpty()) {
      closeTimes.sort(null);
      JsonObject t = new JsonObject();
      t.addProperty("min", closeTimes.get(0));
      t.addProperty("median", closeTimes.get(closeTimes.size() / 2));
      t.addProperty("max", closeTimes.get(closeTimes.size() - 1));
      o.add("closedAtMs", t);
    }
    JsonObject f = new JsonObject();
    facts.forEach((k, v) -> {
      if (v instanceof Number) {
        f.addProperty(k, (Number) v);
      } else {
        f.addProperty(k, String.valueOf(v));
      }
    });
    o.add("facts", f);
    if (answers.size() <= 10) {
      JsonArray each = new JsonArray();
      for (ServerAnswer a : answers) {
        each.add(connectionJson(a));
      }
      o.add("perConnection", each);
    }
    return o;
  }

  private static JsonObject connectionJson(ServerAnswer a) {
    JsonObject c = new JsonObject();
    c.addProperty("framesSent", a.framesSent);
    c.addProperty("bytesSent", a.bytesSent);
    c.add("framesReceived", toJson(a.framesReceived));
    JsonArray g = new JsonArray();
    for (ServerAnswer.GoAway x : a.goAways) {
      JsonObject j = new JsonObject();
      j.addProperty("errorCode", x.codeName());
      j.addProperty("debug", x.debug);
      j.addProperty("lastStreamId", x.lastStreamId);
      j.addProperty("atMs", x.atMillis);
      g.add(j);
    }
    c.add("goAways", g);
    c.add("rstStreams", toJson(a.rstStreams));
    c.add("errorStatuses", toJson(a.statuses));
    c.addProperty("grpcOk", a.grpcOk);
    c.addProperty("lastAnsweredStream", a.lastAnsweredStream);
    c.addProperty("dataBytesReceived", a.dataBytes);
    c.addProperty("connectedAtMs", a.connectedAtMillis);
    if (a.closed()) {
      c.addProperty("close", closeLabel(a));
      c.addProperty("closeDetail", a.closeDetail);
      c.addProperty("closedAtMs", a.closedAtMillis);
    }
    if (a.stalledAtMillis >= 0) {
      c.addProperty("stoppedReadingAtMs", a.stalledAtMillis);
    }
    if (a.parseError != null) {
      c.addProperty("parseError", a.parseError);
    }
    return c;
  }

  private static JsonObject toJson(Map<String, Integer> counts) {
    JsonObject o = new JsonObject();
    counts.forEach(o::addProperty);
    return o;
  }
}
