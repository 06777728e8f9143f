package dev.grpclean.interop;

import dev.grpclean.transport.InternalLeanChannelBuilder;
import dev.grpclean.transport.InternalLeanServerBuilder;
import dev.grpclean.transport.LeanChannelBuilder;
import dev.grpclean.transport.LeanServerBuilder;
import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.okhttp.InternalOkHttpChannelBuilder;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.testing.TlsTesting;
import io.grpc.testing.integration.AbstractInteropTest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;

/**
 * Lean, grpc-netty-shaded and grpc-okhttp builders over TLS, configured for the interop suite as
 * {@link LeanInteropBuilders} and {@link PeerInteropBuilders} do for plaintext. The server
 * presents grpc-testing's {@code server1.pem} (issued for {@code *.test.google.fr} by {@code
 * ca.pem}); clients trust only {@code ca.pem} and use {@link #AUTHORITY}, as grpc-java's own
 * Http2Test does. No client certificate.
 *
 * <p>Thread-safe (stateless).
 */
final class TlsInteropBuilders {
  /** A name {@code server1.pem} covers; the channels connect to localhost under this name. */
  static final String AUTHORITY = "foo.test.google.fr";

  private TlsInteropBuilders() {}

  static ServerCredentials serverCredentials() {
    try {
      return TlsServerCredentials.create(
          TlsTesting.loadCert("server1.pem"), TlsTesting.loadCert("server1.key"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static ChannelCredentials channelCredentials() {
    try {
      return TlsChannelCredentials.newBuilder()
          .trustManager(TlsTesting.loadCert("ca.pem"))
          .build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The certificate the servers present. */
  static X509Certificate serverCertificate() {
    try (InputStream in = TlsTesting.loadCert("server1.pem")) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (CertificateException e) {
      throw new AssertionError(e);
    }
  }

  static LeanServerBuilder leanServer() {
    LeanServerBuilder builder =
        LeanServerBuilder.forPort(0, serverCredentials())
            .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
            .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalLeanServerBuilder.setStatsEnabled(builder, false);
    return builder;
  }

  static LeanChannelBuilder leanChannel(int port) {
    LeanChannelBuilder builder =
        LeanChannelBuilder.forAddress("localhost", port, channelCredentials())
            .overrideAuthority(AUTHORITY)
            .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
            .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalLeanChannelBuilder.setStatsEnabled(builder, false);
    return builder;
  }

  static NettyServerBuilder nettyServer() {
    NettyServerBuilder builder =
        NettyServerBuilder.forPort(0, serverCredentials())
            .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
            .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalNettyServerBuilder.setStatsEnabled(builder, false);
    return builder;
  }

  static NettyChannelBuilder nettyChannel(int port) {
    NettyChannelBuilder builder =
        NettyChannelBuilder.forAddress("localhost", port, channelCredentials())
            .overrideAuthority(AUTHORITY)
            .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
            .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalNettyChannelBuilder.setStatsEnabled(builder, false);
    return builder;
  }

  static OkHttpChannelBuilder okHttpChannel(int port) {
    OkHttpChannelBuilder builder =
        OkHttpChannelBuilder.forAddress("localhost", port, channelCredentials())
            .overrideAuthority(AUTHORITY)
            .flowControlWindow(AbstractInteropTest.TEST_FLOW_CONTROL_WINDOW)
            .maxInboundMessageSize(AbstractInteropTest.MAX_MESSAGE_SIZE);
    InternalOkHttpChannelBuilder.setStatsEnabled(builder, false);
    return builder;
  }
}
