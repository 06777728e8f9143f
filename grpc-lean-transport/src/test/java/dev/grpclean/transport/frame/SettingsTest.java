package dev.grpclean.transport.frame;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class SettingsTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  @Test
  public void unsetSettingsShouldUseDefaults() {
    Settings s = new Settings();
    assertEquals(0, s.count());
    assertFalse(s.isSet(Settings.INITIAL_WINDOW_SIZE));
    assertEquals(65535, s.initialWindowSize(65535));
    assertEquals(16384, s.maxFrameSize(16384));
    assertTrue(s.enablePush(true));
    assertThrows(IllegalStateException.class, () -> s.get(Settings.MAX_FRAME_SIZE));
  }

  @Test
  public void setSettingsShouldBeCountedAndReturned() {
    Settings s = new Settings().set(Settings.ENABLE_PUSH, 0).set(Settings.MAX_HEADER_LIST_SIZE,
        0xffffffffL);
    assertEquals(2, s.count());
    assertFalse(s.enablePush(true));
    assertEquals(0xffffffffL, s.maxHeaderListSize(8192));
    assertEquals(0xffffffffL, s.get(Settings.MAX_HEADER_LIST_SIZE));
    assertEquals(new Settings().set(6, 0xffffffffL).set(2, 0), s);
  }

  @Test
  public void badIdsAndValuesShouldBeRejected() {
    Settings s = new Settings();
    assertThrows(IllegalArgumentException.class, () -> s.set(7, 1));
    assertThrows(IllegalArgumentException.class, () -> s.set(0, 1));
    assertThrows(IllegalArgumentException.class, () -> s.set(1, -1));
    assertThrows(IllegalArgumentException.class, () -> s.set(1, 1L << 32));
    assertFalse(s.isSet(99));
  }

  @Test
  public void errorCodesShouldMapBothWays() {
    for (ErrorCode c : ErrorCode.values()) {
      assertEquals(c, ErrorCode.forCode(c.code()));
    }
    assertEquals(ErrorCode.INTERNAL_ERROR, ErrorCode.forCode(0xe));
    assertEquals(ErrorCode.INTERNAL_ERROR, ErrorCode.forCode(0xffffffffL));
    assertEquals(ErrorCode.INTERNAL_ERROR, ErrorCode.forCode(-1));
    assertEquals(0xb, ErrorCode.ENHANCE_YOUR_CALM.code());
  }
}
