/**
 * TLS on the lean transport: {@code TlsChannelCredentials} / {@code TlsServerCredentials} reduced
 * to a {@link dev.grpclean.transport.spi.HandshakerFactory} whose handshaker and record protector
 * drive an {@link javax.net.ssl.SSLEngine} (Conscrypt's when available, the JDK's otherwise), with
 * ALPN "h2" required on both sides.
 *
 * <p>Memory: the engine is handed buffers leased from the I/O pool for one wrap or unwrap call
 * only; between calls a connection keeps the engine's own state and, at most, the bytes of one
 * incomplete inbound record in a heap array sized to them.
 */
package dev.grpclean.transport.tls;
