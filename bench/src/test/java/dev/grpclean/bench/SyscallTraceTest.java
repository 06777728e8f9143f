package dev.grpclean.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/** Finding the strace binary: on PATH, or as a path; missing or not executable is null. */
public class SyscallTraceTest {
  @Rule public final Timeout timeout = Timeout.seconds(10);
  @Rule public final TemporaryFolder folder = new TemporaryFolder();

  @Test
  public void findsTheFirstExecutableOnPath() throws IOException {
    Path empty = folder.newFolder("empty").toPath();
    Path notExecutable = folder.newFolder("plain").toPath();
    Files.writeString(notExecutable.resolve("strace"), "");
    Path bin = folder.newFolder("bin").toPath();
    Path strace = executable(bin.resolve("strace"));
    String path = String.join(File.pathSeparator, empty.toString(), notExecutable.toString(),
        "", bin.toString());
    assertEquals(strace, SyscallTrace.locate("strace", path));
  }

  @Test
  public void missingOnPathIsNull() throws IOException {
    Path empty = folder.newFolder("empty").toPath();
    assertNull(SyscallTrace.locate("strace", empty.toString()));
    assertNull(SyscallTrace.locate("strace", null));
  }

  @Test
  public void aPathIsTakenAsItIs() throws IOException {
    Path strace = executable(folder.getRoot().toPath().resolve("my-strace"));
    assertEquals(strace, SyscallTrace.locate(strace.toString(), ""));
    assertNull(SyscallTrace.locate(folder.getRoot() + "/absent", strace.getParent().toString()));
    assertNull(SyscallTrace.locate(folder.getRoot().toString() + "/", ""));
  }

  private static Path executable(Path p) throws IOException {
    Files.writeString(p, "#!/bin/sh\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }
}
