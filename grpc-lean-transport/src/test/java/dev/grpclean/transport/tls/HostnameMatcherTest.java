package dev.grpclean.transport.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** RFC 6125 name matching and authority parsing, without certificates. */
public class HostnameMatcherTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  @Test
  public void dnsNamesMatchExactlyIgnoringCaseAndTrailingDot() {
    assertTrue(HostnameMatcher.dnsMatches("Example.COM", "example.com"));
    assertTrue(HostnameMatcher.dnsMatches("example.com.", "example.com"));
    assertFalse(HostnameMatcher.dnsMatches("example.com", "www.example.com"));
    assertFalse(HostnameMatcher.dnsMatches("www.example.com", "example.com"));
  }

  @Test
  public void wildcardOnlyAsTheWholeLeftMostLabelOverTwoOrMoreLabels() {
    assertTrue(HostnameMatcher.dnsMatches("*.example.com", "a.example.com"));
    assertFalse(HostnameMatcher.dnsMatches("*.example.com", "example.com"));
    assertFalse(HostnameMatcher.dnsMatches("*.example.com", "a.b.example.com"));
    assertFalse(HostnameMatcher.dnsMatches("*.com", "example.com"));
    assertFalse(HostnameMatcher.dnsMatches("f*.example.com", "foo.example.com"));
    assertFalse(HostnameMatcher.dnsMatches("*oo.example.com", "foo.example.com"));
    assertFalse(HostnameMatcher.dnsMatches("a.*.example.com", "a.b.example.com"));
    assertFalse(HostnameMatcher.dnsMatches("*", "localhost"));
    assertFalse(HostnameMatcher.dnsMatches("*.*.com", "a.b.com"));
  }

  @Test
  public void hostOfAuthority() {
    assertEquals("localhost", HostnameMatcher.hostOf("localhost:443"));
    assertEquals("localhost", HostnameMatcher.hostOf("localhost"));
    assertEquals("::1", HostnameMatcher.hostOf("[::1]:443"));
    assertEquals("::1", HostnameMatcher.hostOf("[::1]"));
    assertEquals("10.0.0.1", HostnameMatcher.hostOf("10.0.0.1:8080"));
  }
}
