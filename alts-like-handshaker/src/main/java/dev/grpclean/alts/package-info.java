/**
 * ALTS-like security for the lean transport: credentials ({@link
 * dev.grpclean.alts.AltsLikeChannelCredentials}, {@link
 * dev.grpclean.alts.AltsLikeServerCredentials}), Ed25519 identities, and the authenticated peer
 * that calls see ({@link dev.grpclean.alts.AltsLikePeer}).
 */
package dev.grpclean.alts;
