package dev.grpclean.alts.record;

import static dev.grpclean.alts.TestHex.encode;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.security.GeneralSecurityException;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class RecordCounterTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);

  @Test
  public void clientCounterStartsAtZeroLittleEndian() throws Exception {
    RecordCounter counter = new RecordCounter(RecordProtocol.AES_128_GCM, false);
    assertEquals("000000000000000000000000", encode(counter.current()));
    counter.advance();
    assertEquals("010000000000000000000000", encode(counter.current()));
    counter.setForTesting(0x0102030405L);
    assertEquals("050403020100000000000000", encode(counter.current()));
  }

  @Test
  public void serverCounterSetsTopBitOfLastByte() throws Exception {
    RecordCounter counter = new RecordCounter(RecordProtocol.AES_128_GCM_REKEY, true);
    assertEquals("000000000000000000000080", encode(counter.current()));
    counter.advance();
    assertEquals("010000000000000000000080", encode(counter.current()));
  }

  @Test
  public void gcmCounterExhaustsAfterTwoToTheForty() throws Exception {
    RecordCounter counter = new RecordCounter(RecordProtocol.AES_128_GCM, true);
    counter.setForTesting((1L << 40) - 1);
    assertEquals("ffffffffff00000000000080", encode(counter.current()));
    counter.advance();
    GeneralSecurityException e = assertThrows(GeneralSecurityException.class, counter::current);
    assertEquals("record counter exhausted: the connection must be re-established",
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> counter.setForTesting(1L << 40));
  }

  @Test
  public void rekeyCounterExhaustsAfterTwoToTheSixtyFour() throws Exception {
    RecordCounter counter = new RecordCounter(RecordProtocol.AES_128_GCM_REKEY, false);
    counter.setForTesting(-2L);
    counter.advance();
    assertEquals("ffffffffffffffff00000000", encode(counter.current()));
    counter.advance();
    assertThrows(GeneralSecurityException.class, counter::current);
  }
}
