/**
 * The transport's security seam: a per-connection {@link dev.grpclean.transport.spi.Handshaker}
 * that runs before HTTP/2 and yields a {@link dev.grpclean.transport.spi.RecordProtector}.
 * The ALTS-like module and TLS plug in here.
 */
package dev.grpclean.transport.spi;
