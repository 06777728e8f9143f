package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import io.grpc.Attributes;
import io.grpc.Status;
import io.grpc.internal.AuthorityVerifier;
import io.grpc.internal.GrpcAttributes;
import java.util.ArrayList;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

/** When a per-call authority is verified, and the opt-out. */
public class CallAuthorityCheckTest {
  @Rule public final Timeout timeout = Timeout.seconds(30);

  private final List<String> asked = new ArrayList<>();
  private final AuthorityVerifier onlyGood = authority -> {
    asked.add(authority);
    return authority.equals("good") ? Status.OK
        : Status.UNAVAILABLE.withDescription("bad authority " + authority);
  };
  private final Attributes secured =
      Attributes.newBuilder().set(GrpcAttributes.ATTR_AUTHORITY_VERIFIER, onlyGood).build();

  @Test
  public void mismatchFailsUnavailableAndMatchPasses() {
    assertEquals("bad authority evil",
        CallAuthorityCheck.check(secured, "evil", true).getDescription());
    assertNull(CallAuthorityCheck.check(secured, "good", true));
    assertEquals(List.of("evil", "good"), asked);
  }

  @Test
  public void noOverrideOrNoVerifierIsNotChecked() {
    assertNull(CallAuthorityCheck.check(secured, null, true));
    assertNull(CallAuthorityCheck.check(Attributes.EMPTY, "evil", true));
    assertEquals(List.of(), asked);
  }

  @Test
  public void optOutLetsTheCallThrough() {
    assertNull(CallAuthorityCheck.check(secured, "evil", false));
    assertEquals(List.of("evil"), asked);
  }
}
