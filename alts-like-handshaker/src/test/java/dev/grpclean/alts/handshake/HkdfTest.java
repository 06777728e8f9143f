package dev.grpclean.alts.handshake;

import static dev.grpclean.alts.TestHex.decode;
import static dev.grpclean.alts.TestHex.encode;
import static org.junit.Assert.assertEquals;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** RFC 5869 Appendix A test cases for HKDF-SHA256. */
public class HkdfTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);

  @Test
  public void rfc5869TestCase1() throws Exception {
    byte[] prk = Hkdf.extract(decode("000102030405060708090a0b0c"),
        decode("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
    assertEquals("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5", encode(prk));
    assertEquals("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        encode(Hkdf.expand(prk, decode("f0f1f2f3f4f5f6f7f8f9"), 42)));
  }

  @Test
  public void rfc5869TestCase3EmptySaltAndInfo() throws Exception {
    byte[] prk = Hkdf.extract(new byte[0], decode("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
    assertEquals("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04", encode(prk));
    assertEquals("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
        encode(Hkdf.expand(prk, new byte[0], 42)));
  }

  @Test
  public void expandOfOneBlockIsThePrefixOfLongerOutput() throws Exception {
    byte[] prk = Hkdf.extract(new byte[0], new byte[32]);
    byte[] info = decode("01");
    assertEquals(encode(Hkdf.expand(prk, info, 44)).substring(0, 32),
        encode(Hkdf.expand(prk, info, 16)));
  }
}
