package dev.grpclean.transport;

import static org.junit.Assert.assertEquals;

import dev.grpclean.transport.frame.ErrorCode;
import dev.grpclean.transport.testing.Echo;
import dev.grpclean.transport.testing.RawFrames;
import io.grpc.Server;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;

public class SettingsAckTimeoutTest {
  @Rule public final Timeout timeout = Timeout.seconds(60);

  private Server server;

  @After
  public void tearDown() throws Exception {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  public void peerThatNeverAcksOurSettingsGetsGoAwaySettingsTimeout() throws Exception {
    LeanServerBuilder builder = LeanServerBuilder.forPort(0)
        .addService(Echo.service());
    InternalLeanServerBuilder.setSettingsAckTimeout(builder, 300, TimeUnit.MILLISECONDS);
    server = builder.build().start();
    try (RawHttp2Client raw = RawHttp2Client.connect(server.getPort())) {
      // A valid preface and SETTINGS, but the server's SETTINGS are never acknowledged.
      raw.send(RawFrames.preface(), RawFrames.settings());
      RawHttp2Client.Frame goAway = raw.awaitGoAway();
      assertEquals(goAway.toString(), ErrorCode.SETTINGS_TIMEOUT, goAway.errorCode());
      raw.awaitClosed(java.time.Duration.ofSeconds(10));
    }
  }
}
