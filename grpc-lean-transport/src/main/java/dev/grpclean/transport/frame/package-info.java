/**
 * HTTP/2 frames (RFC 9113) and HPACK header blocks (RFC 7541) as pure code: an incremental
 * reader that parses frames in place and keeps only an incomplete tail between socket reads, a
 * stateless writer, and HPACK adapters over netty-codec-http2. No threads, no sockets.
 */
package dev.grpclean.transport.frame;
