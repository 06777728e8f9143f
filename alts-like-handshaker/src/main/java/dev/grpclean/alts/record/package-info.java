/**
 * The ALTS record protocol (AES-128-GCM and its rekeying variant) behind the transport's {@link
 * dev.grpclean.transport.spi.RecordProtector}: no threads, no sockets, no leased buffers kept.
 */
package dev.grpclean.alts.record;
