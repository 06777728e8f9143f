package dev.grpclean.alts;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

public class AltsKeygenTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void writesALoadablePairWithAPrivateKeyOnlyTheOwnerReads() throws Exception {
    String prefix = tmp.getRoot().toPath().resolve("sub/server").toString();
    AltsLikeIdentity generated = AltsKeygen.generate(prefix);
    Path key = Path.of(prefix + ".key");
    Path pub = Path.of(prefix + ".pub");
    assertEquals(generated.id(), AltsLikeIdentity.fromPemFiles(key, pub).id());
    assertEquals(generated.id(), Ed25519Keys.id(Ed25519Keys.rawPublicKey(
        Ed25519Keys.readPublicKeyPem(pub))));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
  }

  @Test
  public void refusesToOverwrite() throws Exception {
    String prefix = tmp.getRoot().toPath().resolve("client").toString();
    Files.writeString(Path.of(prefix + ".pub"), "keep me");
    assertThrows(FileAlreadyExistsException.class, () -> AltsKeygen.generate(prefix));
    assertEquals("keep me", Files.readString(Path.of(prefix + ".pub")));
  }
}
