/**
 * Our ALTS-like handshake (X25519, Ed25519, HKDF-SHA256) behind the transport's {@link
 * dev.grpclean.transport.spi.Handshaker}; the wire format is in the module README.
 */
package dev.grpclean.alts.handshake;
