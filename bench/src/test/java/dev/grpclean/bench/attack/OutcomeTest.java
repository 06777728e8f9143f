package dev.grpclean.bench.attack;

import static org.junit.Assert.assertEquals;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** How recorded answers become the table's words: response, connection end, frames, note. */
public class OutcomeTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);

  @Test
  public void silentOpenConnectionIsNothingAndOpen() {
    Outcome o = outcome(connected());
    assertEquals("nothing", o.response());
    assertEquals("open", o.closed());
    assertEquals("0", o.framesCell());
    assertEquals("-", o.note());
  }

  @Test
  public void errorGoAwayWinsOverGracefulOneAndEndsTheConnection() {
    ServerAnswer a = connected();
    goAway(a, Http2Error.NO_ERROR, "");
    goAway(a, Http2Error.ENHANCE_YOUR_CALM, "too many resets\n in one window");
    closed(a, ServerAnswer.Close.EOF, 1234);
    a.framesSent = 12_345;
    Outcome o = outcome(a);
    assertEquals("GOAWAY ENHANCE_YOUR_CALM \"too many resets in one window\"", o.response());
    assertEquals("EOF at 1.2 s", o.closed());
    assertEquals("12,345", o.framesCell());
  }

  @Test
  public void longDebugTextIsCut() {
    ServerAnswer a = connected();
    goAway(a, Http2Error.PROTOCOL_ERROR, "x".repeat(100));
    String response = outcome(a).response();
    assertEquals("GOAWAY PROTOCOL_ERROR \"" + "x".repeat(Outcome.DEBUG_CHARS - 1) + "…\"",
        response);
  }

  @Test
  public void resetsAndErrorStatusesAreCounted() {
    ServerAnswer a = connected();
    for (int i = 0; i < 1500; i++) {
      a.onRstStreamRead(null, 2 * i + 1, Http2Error.REFUSED_STREAM.code());
    }
    a.onRstStreamRead(null, 9999, Http2Error.CANCEL.code());
    a.onHeadersRead(null, 3, new DefaultHttp2Headers().status("431").add("grpc-status", "8"),
        0, true);
    a.onHeadersRead(null, 5, new DefaultHttp2Headers().status("200").add("grpc-status", "0"),
        0, true);
    assertEquals("RST_STREAM CANCEL, REFUSED_STREAM ×1,500; HTTP 431, grpc-status 8",
        outcome(a).response());
    assertEquals(1, a.grpcOk);
    assertEquals(9999, a.lastAnsweredStream);
  }

  @Test
  public void resetWhileNotReadingSaysTheAnswerMayBeLost() {
    ServerAnswer a = connected();
    a.unreadAtClose = true;
    closed(a, ServerAnswer.Close.RESET, 80);
    a.stalledAtMillis = 2500;
    a.framesSent = 300;
    Outcome o = outcome(a);
    assertEquals("none seen (reset while its replies were unread)", o.response());
    assertEquals("reset at 80 ms; stopped reading at 2.5 s", o.closed());
    assertEquals("300 (stalled)", o.framesCell());
  }

  @Test
  public void manyConnectionsAreGrouped() {
    ServerAnswer[] a = new ServerAnswer[5];
    for (int i = 0; i < a.length; i++) {
      a[i] = connected();
      a[i].framesSent = 2;
    }
    for (int i = 0; i < 3; i++) {
      goAway(a[i], Http2Error.PROTOCOL_ERROR, "bad preface");
      closed(a[i], ServerAnswer.Close.EOF, 100 + i * 10);
    }
    closed(a[3], ServerAnswer.Close.RESET, 2000);
    Outcome o = outcome(a);
    assertEquals("GOAWAY PROTOCOL_ERROR \"bad preface\" ×3; nothing ×2", o.response());
    assertEquals("4/5 closed (EOF ×3, reset ×1) at 100 ms–2.0 s", o.closed());
    assertEquals("10", o.framesCell());
    assertEquals(4, o.closedConnections());
  }

  @Test
  public void allOpenAndAllRefused() {
    ServerAnswer open1 = connected();
    ServerAnswer open2 = connected();
    assertEquals("all 2 open", outcome(open1, open2).closed());
    ServerAnswer refused = connected();
    closed(refused, ServerAnswer.Close.REFUSED, 5);
    ServerAnswer refused2 = connected();
    closed(refused2, ServerAnswer.Close.REFUSED, 5);
    Outcome o = outcome(refused, refused2);
    assertEquals("connection refused ×2", o.response());
    assertEquals("2/2 closed (refused) at 5 ms", o.closed());
  }

  @Test
  public void pendingConnectsAreCounted() {
    ServerAnswer pending = new ServerAnswer(System.nanoTime());
    assertEquals("still connecting", outcome(pending).closed());
    ServerAnswer closedOne = connected();
    closed(closedOne, ServerAnswer.Close.EOF, 300);
    assertEquals("1/2 open; 1 still connecting",
        outcome(connected(), new ServerAnswer(System.nanoTime())).closed());
    assertEquals("1/3 closed (EOF) at 300 ms; 1 still connecting",
        outcome(closedOne, connected(), new ServerAnswer(System.nanoTime())).closed());
  }

  @Test
  public void noteSaysWhatTheFactsSay() {
    ServerAnswer a = connected();
    assertEquals("server done 6.6 s after the last frame",
        new Outcome("x", List.of(a), Map.of("handshake", "done", "serverCaughtUpMs", 6633L))
            .note());
    assertEquals("handshake not acked; server not done: not within 10 s",
        new Outcome("x", List.of(a), new java.util.LinkedHashMap<>(Map.of(
            "handshake", "not acked", "serverCaughtUpMs", "not within 10 s"))).note());
    assertEquals("HEADERS on 20 of 100 streams", new Outcome("x", List.of(a),
        Map.of("responseHeaders", 20, "streams", 100)).note());
  }

  @Test
  public void jsonSumsOverConnections() {
    ServerAnswer a = connected();
    ServerAnswer b = connected();
    a.onSettingsRead(null, new io.netty.handler.codec.http2.Http2Settings());
    b.onSettingsRead(null, new io.netty.handler.codec.http2.Http2Settings());
    goAway(b, Http2Error.NO_ERROR, "idle");
    closed(b, ServerAnswer.Close.EOF, 40);
    var json = outcome(a, b).toJson();
    assertEquals(2, json.getAsJsonObject("framesReceived").get("SETTINGS").getAsInt());
    assertEquals(1, json.getAsJsonObject("goAways").get("NO_ERROR \"idle\"").getAsInt());
    assertEquals(40, json.getAsJsonObject("closedAtMs").get("max").getAsLong());
    assertEquals(2, json.getAsJsonArray("perConnection").size());
  }

  /** An answer whose connect completed at 1 ms. */
  private static ServerAnswer connected() {
    ServerAnswer a = new ServerAnswer(System.nanoTime());
    a.connectedAtMillis = 1;
    return a;
  }

  private static Outcome outcome(ServerAnswer... answers) {
    return new Outcome("test", List.of(answers), Map.of());
  }

  private static void goAway(ServerAnswer a, Http2Error code, String debug) {
    a.onGoAwayRead(null, 7, code.code(), Unpooled.copiedBuffer(debug, StandardCharsets.UTF_8));
  }

  private static void closed(ServerAnswer a, ServerAnswer.Close how, long atMillis) {
    a.closed(how, "test");
    a.closedAtMillis = atMillis;
  }
}
