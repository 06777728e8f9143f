/**
 * Size-classed {@link java.nio.ByteBuffer} pools that the transport leases from only while a
 * socket is readable or writable, with exact counters that prove an idle connection holds no
 * leased bytes. No transport knowledge lives here.
 */
package dev.grpclean.transport.pool;
