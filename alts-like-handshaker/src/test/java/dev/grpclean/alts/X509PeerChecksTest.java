package dev.grpclean.alts;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** RFC 6125 name matching and authority parsing, without certificates. */
public class X509PeerChecksTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  @Test
  public void dnsNamesMatchExactlyIgnoringCaseAndTrailingDot() {
    assertTrue(X509PeerChecks.dnsMatches("Example.COM", "example.com"));
    assertTrue(X509PeerChecks.dnsMatches("example.com.", "example.com"));
    assertFalse(X509PeerChecks.dnsMatches("example.com", "www.example.com"));
    assertFalse(X509PeerChecks.dnsMatches("www.example.com", "example.com"));
  }

  @Test
  public void wildcardOnlyAsTheWholeLeftMostLabelOverTwoOrMoreLabels() {
    assertTrue(X509PeerChecks.dnsMatches("*.example.com", "a.example.com"));
    assertFalse(X509PeerChecks.dnsMatches("*.example.com", "example.com"));
    assertFalse(X509PeerChecks.dnsMatches("*.example.com", "a.b.example.com"));
    assertFalse(X509PeerChecks.dnsMatches("*.com", "example.com"));
    assertFalse(X509PeerChecks.dnsMatches("f*.example.com", "foo.example.com"));
    assertFalse(X509PeerChecks.dnsMatches("*oo.example.com", "foo.example.com"));
    assertFalse(X509PeerChecks.dnsMatches("a.*.example.com", "a.b.example.com"));
    assertFalse(X509PeerChecks.dnsMatches("*", "localhost"));
    assertFalse(X509PeerChecks.dnsMatches("*.*.com", "a.b.com"));
  }

  @Test
  public void hostOfAuthority() {
    assertEquals("localhost", X509PeerChecks.hostOf("localhost:443"));
    assertEquals("localhost", X509PeerChecks.hostOf("localhost"));
    assertEquals("::1", X509PeerChecks.hostOf("[::1]:443"));
    assertEquals("::1", X509PeerChecks.hostOf("[::1]"));
    assertEquals("10.0.0.1", X509PeerChecks.hostOf("10.0.0.1:8080"));
  }
}
