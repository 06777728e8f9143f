package dev.grpclean.interop;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerBuilder;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.testing.integration.Messages.SimpleRequest;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.junit.Test;

/**
 * The interop suite for one pairing over TLS ({@link TlsInteropBuilders}), plus a check that both
 * ends really ran TLS: each call sees an {@link SSLSession}, the client's holds the server's
 * certificate, the server's holds no client certificate (none is configured), and both agree on
 * protocol and cipher suite.
 *
 * <p>Thread-compatible (JUnit runs each test on one thread).
 */
public abstract class TlsPairingInteropTest extends PairingInteropTest {
  private final AtomicReference<ServerCall<?, ?>> serverCall = new AtomicReference<>();

  /** Returns a TLS server builder configured as {@link TlsInteropBuilders} does. */
  protected abstract ServerBuilder<?> newTlsServerBuilder();

  @Override
  protected final ServerBuilder<?> newServerBuilder() {
    return newTlsServerBuilder().intercept(new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
          ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        serverCall.set(call);
        return next.startCall(call, headers);
      }
    });
  }

  @Test
  public void tlsSessionOnBothEnds() throws Exception {
    AtomicReference<ClientCall<?, ?>> clientCall = new AtomicReference<>();
    ClientInterceptor capture = new ClientInterceptor() {
      @Override
      public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
          MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
        ClientCall<ReqT, RespT> call = next.newCall(method, callOptions);
        clientCall.set(call);
        return call;
      }
    };
    blockingStub.withInterceptors(capture)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .unaryCall(SimpleRequest.getDefaultInstance());

    SSLSession client = clientCall.get().getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    SSLSession server = serverCall.get().getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    assertNotNull("client call has no SSLSession", client);
    assertNotNull("server call has no SSLSession", server);

    Certificate[] chain = client.getPeerCertificates();
    assertEquals(
        TlsInteropBuilders.serverCertificate().getSubjectX500Principal(),
        ((X509Certificate) chain[0]).getSubjectX500Principal());
    assertThrows(SSLPeerUnverifiedException.class, server::getPeerCertificates);
    assertEquals(client.getProtocol(), server.getProtocol());
    assertEquals(client.getCipherSuite(), server.getCipherSuite());
  }
}
