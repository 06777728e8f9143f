package dev.grpclean.alts.record;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class GcmProviderTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);

  @Test
  public void propertySelectsTheProvider() {
    assertEquals(GcmProvider.JDK, GcmProvider.select("jdk", true));
    assertEquals(GcmProvider.JDK, GcmProvider.select(" JDK ", false));
    assertEquals(GcmProvider.CONSCRYPT, GcmProvider.select("conscrypt", true));
    assertEquals("falls back when Conscrypt does not load", GcmProvider.JDK,
        GcmProvider.select("conscrypt", false));
    assertEquals(GcmProvider.JDK, GcmProvider.select(null, false));
    assertEquals(GcmProvider.JDK, GcmProvider.select("auto", false));
    assertThrows(IllegalArgumentException.class, () -> GcmProvider.select("boringssl", true));
  }

  @Test
  public void autoFollowsTheMeasuredDefault() {
    assertEquals(GcmProvider.AUTO_CHOICE_WHEN_CONSCRYPT_LOADS, GcmProvider.select(null, true));
    assertEquals(GcmProvider.AUTO_CHOICE_WHEN_CONSCRYPT_LOADS, GcmProvider.select("auto", true));
  }

  @Test
  public void activeProviderIsAvailableAndConscryptLoadsHere() {
    assertNotNull(GcmProvider.active());
    assertTrue(GcmProvider.active().available());
    assertTrue("conscrypt-openjdk-uber is a test dependency", GcmProvider.conscryptAvailable());
  }
}
