package dev.grpclean.alts;

import static dev.grpclean.alts.TestHex.decode;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.Base64;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class AltsLikeIdentityTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  /** RFC 8032 §7.1 test 1. */
  private static final byte[] RFC8032_SECRET =
      decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  private static final byte[] RFC8032_PUBLIC =
      decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

  @Test
  public void rawKeysFromRfc8032FormAPair() throws Exception {
    AltsLikeIdentity identity = AltsLikeIdentity.fromRaw(RFC8032_SECRET, RFC8032_PUBLIC);
    assertArrayEquals(RFC8032_PUBLIC, identity.rawPublicKey());
    assertEquals("ed25519:" + Base64.getUrlEncoder().withoutPadding().encodeToString(
        RFC8032_PUBLIC), identity.id());
    assertEquals(43 + "ed25519:".length(), identity.id().length());
  }

  @Test
  public void pemAndDerRoundTrip() throws Exception {
    AltsLikeIdentity identity = AltsLikeIdentity.generate();
    String keyPem = Ed25519Keys.privateKeyPem(identity.privateKey());
    String pubPem = Ed25519Keys.publicKeyPem(identity.publicKey());
    assertTrue(keyPem.startsWith("-----BEGIN PRIVATE KEY-----\n"));
    assertTrue(pubPem.startsWith("-----BEGIN PUBLIC KEY-----\n"));
    assertEquals(identity.id(), AltsLikeIdentity.fromPem(keyPem, pubPem).id());
    assertEquals(identity.id(), AltsLikeIdentity.fromDer(identity.privateKey().getEncoded(),
        identity.publicKey().getEncoded()).id());
    byte[] pkcs8 = identity.privateKey().getEncoded();
    byte[] seed = Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length);
    assertEquals(identity.id(), AltsLikeIdentity.fromRaw(seed, identity.rawPublicKey()).id());
  }

  @Test
  public void mismatchedPairIsRejected() throws Exception {
    AltsLikeIdentity a = AltsLikeIdentity.generate();
    AltsLikeIdentity b = AltsLikeIdentity.generate();
    GeneralSecurityException e = assertThrows(GeneralSecurityException.class,
        () -> AltsLikeIdentity.of(a.privateKey(), b.publicKey()));
    assertEquals("the Ed25519 private key does not match public key " + b.id(), e.getMessage());
  }

  @Test
  public void nonEd25519KeysAreRejected() throws Exception {
    PublicKey ec = KeyPairGenerator.getInstance("EC").generateKeyPair().getPublic();
    assertThrows(GeneralSecurityException.class, () -> Ed25519Keys.rawPublicKey(ec));
    PublicKey ed448 = KeyPairGenerator.getInstance("Ed448").generateKeyPair().getPublic();
    assertThrows(GeneralSecurityException.class, () -> Ed25519Keys.rawPublicKey(ed448));
    assertThrows(GeneralSecurityException.class,
        () -> Ed25519Keys.publicKeyFromRaw(new byte[31]));
    assertThrows(GeneralSecurityException.class,
        () -> Ed25519Keys.publicKeyFromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n"
            + "-----END PRIVATE KEY-----\n"));
  }
}
