/**
 * Test fixtures every module's tests share, published in the transport's test jar (the other
 * modules depend on it with {@code <type>test-jar</type>}, test scope): {@code byte[]} methods
 * and an echo service ({@link dev.grpclean.transport.testing.ByteMethods},
 * {@link dev.grpclean.transport.testing.Echo}), bounded waits for a condition and for the pools'
 * leases to come back ({@link dev.grpclean.transport.testing.Conditions},
 * {@link dev.grpclean.transport.testing.LeanLeases}), HTTP/2 frames built byte by byte
 * ({@link dev.grpclean.transport.testing.RawFrames}), a response observer that records how a
 * call ended ({@link dev.grpclean.transport.testing.Observers}) and the input layout of the fuzz
 * targets ({@link dev.grpclean.transport.testing.FuzzInput}).
 *
 * <p>Only public API of the transport is used here, so a fixture never ties a test of another
 * module to the transport's internals.
 */
package dev.grpclean.transport.testing;
