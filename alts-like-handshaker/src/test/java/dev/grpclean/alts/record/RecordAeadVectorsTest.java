package dev.grpclean.alts.record;

import static dev.grpclean.alts.TestHex.decode;
import static dev.grpclean.alts.TestHex.encode;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import javax.crypto.AEADBadTagException;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * Known answers for both record AEADs, on both providers and both buffer kinds. Vector values are
 * the published ones from grpc-go ({@code credentials/alts/internal/conn/aes128gcm_test.go}) for
 * ALTSRP_GCM_AES128, and grpc-java ({@code AesGcmHkdfAeadCrypterTest}, NIST and IEEE 802.1AE
 * vectors with the key expanded to 44 bytes) for ALTSRP_GCM_AES128_REKEY, whose "nonce" is the
 * record counter before masking.
 */
@RunWith(Parameterized.class)
public class RecordAeadVectorsTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  @Parameters(name = "{0}")
  public static List<Object[]> providers() {
    return Arrays.asList(new Object[] {GcmProvider.JDK}, new Object[] {GcmProvider.CONSCRYPT});
  }

  private final GcmProvider provider;

  public RecordAeadVectorsTest(GcmProvider provider) {
    this.provider = provider;
  }

  /** {key, counter, plaintext, ciphertext, tag} from grpc-go's TestAES128GCMEncrypt. */
  private static final String[][] GCM_VECTORS = {
    {"11754cd72aec309bf52f7687212e8957", "3c819d9a9bed087615030b65", "", "",
        "250327c674aaf477aef2675748cf6971"},
    {"ca47248ac0b6f8372a97ac43508308ed", "ffd2b598feabc9019262d2be", "", "",
        "60d20404af527d248d893ae495707d1a"},
    {"7fddb57453c241d03efbed3ac44e371c", "ee283a3fc75575e33efd4887",
        "d5de42b461646c255c87bd2962d3b9a2", "2ccda4a5415cb91e135c2a0f78c9b2fd",
        "b36d1df9b9d5e596f83e8b7f52971cb3"},
    {"ab72c77b97cb5fe9a382d9fe81ffdbed", "54cc7dc2c37ec006bcc6d1da",
        "007c5e5b3e59df24a7c355584fc1518d", "0e1bde206a07a9c2c1b65300f8c64997",
        "2b4401346697138c7a4891ee59867d0c"},
  };

  /** {comment, key, nonce (counter), aad, plaintext, ciphertext || tag} from grpc-java. */
  private static final String[][] REKEY_VECTORS = {
      {"Derived from NIST test vector 1", "0000000000000000000000000000000001010101010101010101010101010101020202020202020202020202", "000000000000000000000000", "", "", "85e873e002f6ebdc4060954eb8675508"},
      {"Derived from NIST test vector 2", "0000000000000000000000000000000001010101010101010101010101010101020202020202020202020202", "000000000000000000000000", "", "00000000000000000000000000000000", "51e9a8cb23ca2512c8256afff8e72d681aca19a1148ac115e83df4888cc00d11"},
      {"Derived from NIST test vector 3", "feffe9928665731c6d6a8f9467308308fffee8938764721d6c6b8e9566318209fcfdeb908467711e6f688d96", "cafebabefacedbaddecaf888", "", "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255", "1018ed5a1402a86516d6576d70b2ffccca261b94df88b58f53b64dfba435d18b2f6e3b7869f9353d4ac8cf09afb1663daa7b4017e6fc2c177c0c087c0df1162129952213cee1bc6e9c8495dd705e1f3d"},
      {"Derived from NIST test vector 4", "feffe9928665731c6d6a8f9467308308fffee8938764721d6c6b8e9566318209fcfdeb908467711e6f688d96", "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", "1018ed5a1402a86516d6576d70b2ffccca261b94df88b58f53b64dfba435d18b2f6e3b7869f9353d4ac8cf09afb1663daa7b4017e6fc2c177c0c087c4764565d077e9124001ddb27fc0848c5"},
      {"Derived from adapted NIST test vector 4 for KDF counter boundary (flip nonce bit 15)", "feffe9928665731c6d6a8f9467308308fffee8938764721d6c6b8e9566318209fcfdeb908467711e6f688d96", "ca7ebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", "e650d3c0fb879327f2d03287fa93cd07342b136215adbca00c3bd5099ec41832b1d18e0423ed26bb12c6cd09debb29230a94c0cee15903656f85edb6fc509b1b28216382172ecbcc31e1e9b1"},
      {"Derived from adapted NIST test vector 4 for KDF counter boundary (flip nonce bit 16)", "feffe9928665731c6d6a8f9467308308fffee8938764721d6c6b8e9566318209fcfdeb908467711e6f688d96", "cafebbbefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", "c0121e6c954d0767f96630c33450999791b2da2ad05c4190169ccad9ac86ff1c721e3d82f2ad22ab463bab4a0754b7dd68ca4de7ea2531b625eda01f89312b2ab957d5c7f8568dd95fcdcd1f"},
      {"Derived from adapted NIST test vector 4 for KDF counter boundary (flip nonce bit 63)", "feffe9928665731c6d6a8f9467308308fffee8938764721d6c6b8e9566318209fcfdeb908467711e6f688d96", "cafebabefacedb2ddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", "8af37ea5684a4d81d4fd817261fd9743099e7e6a025eaacf8e54b124fb5743149e05cb89f4a49467fe2e5e5965f29a19f99416b0016b54585d12553783ba59e9f782e82e097c336bf7989f08"},
      {"Derived from adapted NIST test vector 4 for KDF counter boundary (flip nonce bit 64)", "feffe9928665731c6d6a8f9467308308fffee8938764721d6c6b8e9566318209fcfdeb908467711e6f688d96", "cafebabefacedbaddfcaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", "fbd528448d0346bfa878634864d407a35a039de9db2f1feb8e965b3ae9356ce6289441d77f8f0df294891f37ea438b223e3bf2bdc53d4c5a74fb680bb312a8dec6f7252cbcd7f5799750ad78"},
      {"Derived from IEEE 2.1.1 54-byte auth", "ad7a2bd03eac835a6f620fdcb506b345ac7b2ad13fad825b6e630eddb407b244af7829d23cae81586d600dde", "12153524c0895e81b2c28465", "d609b1f056637a0d46df998d88e5222ab2c2846512153524c0895e8108000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233340001", "", "3ea0b584f3c85e93f9320ea591699efb"},
      {"Derived from IEEE 2.1.2 54-byte auth", "e3c08a8f06c6e3ad95a70557b23f75483ce33021a9c72b7025666204c69c0b72e1c2888d04c4e1af97a50755", "12153524c0895e81b2c28465", "d609b1f056637a0d46df998d88e5222ab2c2846512153524c0895e8108000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233340001", "", "294e028bf1fe6f14c4e8f7305c933eb5"},
      {"Derived from IEEE 2.2.1 60-byte crypt", "ad7a2bd03eac835a6f620fdcb506b345ac7b2ad13fad825b6e630eddb407b244af7829d23cae81586d600dde", "12153524c0895e81b2c28465", "d609b1f056637a0d46df998d88e52e00b2c2846512153524c0895e81", "08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a0002", "db3d25719c6b0a3ca6145c159d5c6ed9aff9c6e0b79f17019ea923b8665ddf52137ad611f0d1bf417a7ca85e45afe106ff9c7569d335d086ae6c03f00987ccd6"},
      {"Derived from IEEE 2.2.2 60-byte crypt", "e3c08a8f06c6e3ad95a70557b23f75483ce33021a9c72b7025666204c69c0b72e1c2888d04c4e1af97a50755", "12153524c0895e81b2c28465", "d609b1f056637a0d46df998d88e52e00b2c2846512153524c0895e81", "08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a0002", "1641f28ec13afcc8f7903389787201051644914933e9202bb9d06aa020c2a67ef51dfe7bc00a856c55b8f8133e77f659132502bad63f5713d57d0c11e0f871ed"},
      {"Derived from IEEE 2.3.1 60-byte auth", "071b113b0ca743fecccf3d051f737382061a103a0da642ffcdce3c041e727283051913390ea541fccecd3f07", "f0761e8dcd3d000176d457ed", "e20106d7cd0df0761e8dcd3d88e5400076d457ed08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a0003", "", "58837a10562b0f1f8edbe58ca55811d3"},
      {"Derived from IEEE 2.3.2 60-byte auth", "691d3ee909d7f54167fd1ca0b5d769081f2bde1aee655fdbab80bd5295ae6be76b1f3ceb0bd5f74365ff1ea2", "f0761e8dcd3d000176d457ed", "e20106d7cd0df0761e8dcd3d88e5400076d457ed08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a0003", "", "c2722ff6ca29a257718a529d1f0c6a3b"},
      {"Derived from IEEE 2.4.1 54-byte crypt", "071b113b0ca743fecccf3d051f737382061a103a0da642ffcdce3c041e727283051913390ea541fccecd3f07", "f0761e8dcd3d000176d457ed", "e20106d7cd0df0761e8dcd3d88e54c2a76d457ed", "08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233340004", "fd96b715b93a13346af51e8acdf792cdc7b2686f8574c70e6b0cbf16291ded427ad73fec48cd298e0528a1f4c644a949fc31dc9279706ddba33f"},
      {"Derived from IEEE 2.4.2 54-byte crypt", "691d3ee909d7f54167fd1ca0b5d769081f2bde1aee655fdbab80bd5295ae6be76b1f3ceb0bd5f74365ff1ea2", "f0761e8dcd3d000176d457ed", "e20106d7cd0df0761e8dcd3d88e54c2a76d457ed", "08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233340004", "b68f6300c2e9ae833bdc070e24021a3477118e78ccf84e11a485d861476c300f175353d5cdf92008a4f878e6cc3577768085c50a0e98fda6cbb8"},
      {"Derived from IEEE 2.5.1 65-byte auth", "013fe00b5f11be7f866d0cbbc55a7a90003ee10a5e10bf7e876c0dbac45b7b91033de2095d13bc7d846f0eb9", "7cfde9f9e33724c68932d612", "84c5d513d2aaf6e5bbd2727788e523008932d6127cfde9f9e33724c608000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f0005", "", "cca20eecda6283f09bb3543dd99edb9b"},
      {"Derived from IEEE 2.5.2 65-byte auth", "83c093b58de7ffe1c0da926ac43fb3609ac1c80fee1b624497ef942e2f79a82381c291b78fe5fde3c2d89068", "7cfde9f9e33724c68932d612", "84c5d513d2aaf6e5bbd2727788e523008932d6127cfde9f9e33724c608000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f0005", "", "b232cc1da5117bf15003734fa599d271"},
      {"Derived from IEEE  2.6.1 61-byte crypt", "013fe00b5f11be7f866d0cbbc55a7a90003ee10a5e10bf7e876c0dbac45b7b91033de2095d13bc7d846f0eb9", "7cfde9f9e33724c68932d612", "84c5d513d2aaf6e5bbd2727788e52f008932d6127cfde9f9e33724c6", "08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b0006", "ff1910d35ad7e5657890c7c560146fd038707f204b66edbc3d161f8ace244b985921023c436e3a1c3532ecd5d09a056d70be583f0d10829d9387d07d33d872e490"},
      {"Derived from IEEE 2.6.2 61-byte crypt", "83c093b58de7ffe1c0da926ac43fb3609ac1c80fee1b624497ef942e2f79a82381c291b78fe5fde3c2d89068", "7cfde9f9e33724c68932d612", "84c5d513d2aaf6e5bbd2727788e52f008932d6127cfde9f9e33724c6", "08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b0006", "0db4cf956b5f97eca4eab82a6955307f9ae02a32dd7d93f83d66ad04e1cfdc5182ad12abdea5bbb619a1bd5fb9a573590fba908e9c7a46c1f7ba0905d1b55ffda4"},
      {"Derived from IEEE 2.7.1 79-byte crypt", "88ee087fd95da9fbf6725aa9d757b0cd89ef097ed85ca8faf7735ba8d656b1cc8aec0a7ddb5fabf9f47058ab", "7ae8e2ca4ec500012e58495c", "68f2e77696ce7ae8e2ca4ec588e541002e58495c08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d0007", "", "813f0e630f96fb2d030f58d83f5cdfd0"},
      {"Derived from IEEE 2.7.2 79-byte crypt", "4c973dbc7364621674f8b5b89e5c15511fced9216490fb1c1a2caa0ffe0407e54e953fbe7166601476fab7ba", "7ae8e2ca4ec500012e58495c", "68f2e77696ce7ae8e2ca4ec588e541002e58495c08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d0007", "", "77e5a44c21eb07188aacbd74d1980e97"},
      {"Derived from IEEE 2.8.1 61-byte crypt", "88ee087fd95da9fbf6725aa9d757b0cd89ef097ed85ca8faf7735ba8d656b1cc8aec0a7ddb5fabf9f47058ab", "7ae8e2ca4ec500012e58495c", "68f2e77696ce7ae8e2ca4ec588e54d002e58495c", "08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748490008", "958ec3f6d60afeda99efd888f175e5fcd4c87b9bcc5c2f5426253a8b506296c8c43309ab2adb5939462541d95e80811e04e706b1498f2c407c7fb234f8cc01a647550ee6b557b35a7e3945381821f4"},
      {"Derived from IEEE 2.8.2 61-byte crypt", "4c973dbc7364621674f8b5b89e5c15511fced9216490fb1c1a2caa0ffe0407e54e953fbe7166601476fab7ba", "7ae8e2ca4ec500012e58495c", "68f2e77696ce7ae8e2ca4ec588e54d002e58495c", "08000f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748490008", "b44d072011cd36d272a9b7a98db9aa90cbc5c67b93ddce67c854503214e2e896ec7e9db649ed4bcf6f850aac0223d0cf92c83db80795c3a17ecc1248bb00591712b1ae71e268164196252162810b00"},
  };

  @Test
  public void gcmVectorsSealAndOpen() throws Exception {
    assumeTrue(provider.available());
    for (boolean direct : new boolean[] {false, true}) {
      for (String[] v : GCM_VECTORS) {
        check(RecordProtocol.AES_128_GCM, "grpc-go " + v[0], decode(v[0]), decode(v[1]), null,
            decode(v[2]), decode(v[3] + v[4]), direct);
      }
    }
  }

  @Test
  public void rekeyVectorsSealAndOpen() throws Exception {
    assumeTrue(provider.available());
    for (boolean direct : new boolean[] {false, true}) {
      for (String[] v : REKEY_VECTORS) {
        check(RecordProtocol.AES_128_GCM_REKEY, v[0], decode(v[1]), decode(v[2]), decode(v[3]),
            decode(v[4]), decode(v[5]), direct);
      }
    }
  }

  @Test
  public void rekeyVectorsRejectTamperedTag() throws Exception {
    assumeTrue(provider.available());
    for (String[] v : REKEY_VECTORS) {
      RecordAead aead = RecordAead.create(RecordProtocol.AES_128_GCM_REKEY, decode(v[1]), provider);
      byte[] sealed = decode(v[5]);
      sealed[sealed.length - 1] ^= 1;
      try {
        aead.open(decode(v[2]), decode(v[3]), ByteBuffer.wrap(sealed),
            ByteBuffer.allocate(sealed.length));
        fail("tampered tag opened: " + v[0]);
      } catch (AEADBadTagException expected) {
        // Fails closed.
      }
    }
  }

  private void check(RecordProtocol protocol, String name, byte[] key, byte[] counter,
      byte[] aad, byte[] plaintext, byte[] sealed, boolean direct) throws Exception {
    String what = name + (direct ? " (direct)" : " (heap)") + " on " + provider;
    AesGcm.of(provider).forgetThreadStateForTesting();
    RecordAead aead = RecordAead.create(protocol, key, provider);
    ByteBuffer in = buffer(plaintext, plaintext.length, direct);
    ByteBuffer out = buffer(new byte[0], sealed.length, direct);
    aead.seal(counter, aad, in, out);
    assertEquals(what, encode(sealed), encode(contents(out)));

    // Open in place, as the record layer does.
    ByteBuffer region = buffer(sealed, sealed.length, direct);
    ByteBuffer openOut = region.duplicate();
    aead.open(counter, aad, region, openOut);
    assertEquals(what, plaintext.length, openOut.position());
    assertEquals(what, encode(plaintext), encode(contents(openOut)));
  }

  private static ByteBuffer buffer(byte[] content, int capacity, boolean direct) {
    ByteBuffer b = direct ? ByteBuffer.allocateDirect(capacity) : ByteBuffer.allocate(capacity);
    b.put(content).flip();
    if (content.length == 0) {
      b.clear();
    }
    return b;
  }

  /** Bytes from 0 to the buffer's position. */
  private static byte[] contents(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    d.flip();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }
}
