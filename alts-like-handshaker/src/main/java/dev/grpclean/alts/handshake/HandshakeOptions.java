package dev.grpclean.alts.handshake;

import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.AltsLikePeer;
import dev.grpclean.alts.Ed25519Keys;
import dev.grpclean.alts.RpcProtocolVersion;
import dev.grpclean.alts.X509Identities;
import dev.grpclean.alts.X509PeerChecks;
import dev.grpclean.alts.record.AltsRecordProtector;
import dev.grpclean.alts.record.GcmProvider;
import dev.grpclean.alts.record.RecordProtocol;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiPredicate;
import java.util.function.Predicate;
import javax.annotation.Nullable;

/**
 * One side's handshake configuration; built by the credentials' builders, which document each
 * option.
 *
 * <p>Thread-safe (immutable).
 */
public final class HandshakeOptions {
  final AltsLikeIdentity identity;
  /**
   * The peer policy's predicate over (peer, authority); the authority is the client's target, null
   * on the server. Null if only certificate peers are accepted.
   */
  @Nullable final BiPredicate<AltsLikePeer, String> peerVerifier;
  /** False for acceptPeers (a list of raw keys), which judges raw-key peers only. */
  final boolean verifierCoversCertificates;
  final String peerPolicy;
  /**
   * Client only: the server is not authenticated (acceptAnyServerUnauthenticated), so the
   * connection reports {@code SecurityLevel.NONE} and no call credentials are sent over it.
   */
  final boolean unauthenticatedPeer;
  /** Client only: whether a server certificate's names must match the target. */
  final boolean serverNameCheck;
  /** Client only: the name server certificates must match instead of the authority's host. */
  @Nullable final String expectedServerName;
  /** Null if certificate peers are not accepted. */
  @Nullable final Set<TrustAnchor> trustAnchors;
  /** For tests: validate certificates at this time instead of now. */
  @Nullable final Date validationDate;
  final List<RecordProtocol> recordProtocols;
  /** Handshake versions spoken: [1, 2] unless a test pins one. */
  final int minVersion;
  final int maxVersion;
  final RpcProtocolVersion rpcMin;
  final RpcProtocolVersion rpcMax;
  final int recordBytes;
  final int maxInboundRecordBytes;
  @Nullable final GcmProvider provider;
  private final Messages.IdentityTypes acceptedIdentityTypes;
  /** Server only: most handshakes in progress at once per credentials; beyond, refused. */
  final int maxConcurrentHandshakes;

  private HandshakeOptions(Builder b) {
    this.identity = b.identity;
    this.peerVerifier = b.peerVerifier;
    this.verifierCoversCertificates = b.verifierCoversCertificates;
    this.peerPolicy = b.peerPolicy;
    this.unauthenticatedPeer = b.policy == Policy.ANY_UNAUTHENTICATED;
    this.serverNameCheck = b.serverNameCheck;
    this.expectedServerName = b.expectedServerName;
    this.trustAnchors = b.trustAnchors;
    this.validationDate = b.validationDate;
    this.recordProtocols = Collections.unmodifiableList(new ArrayList<>(b.recordProtocols));
    this.minVersion = b.minVersion;
    this.maxVersion = b.maxVersion;
    this.rpcMin = b.rpcMin;
    this.rpcMax = b.rpcMax;
    this.recordBytes = b.recordBytes;
    this.maxInboundRecordBytes = b.maxInboundRecordBytes;
    this.provider = b.provider;
    this.acceptedIdentityTypes =
        new Messages.IdentityTypes(b.peerVerifier != null, b.trustAnchors != null);
    this.maxConcurrentHandshakes = b.maxConcurrentHandshakes;
  }

  /**
   * Default cap on a server's handshakes in progress at once: each costs an X25519 key pair, a
   * key agreement and a signature on the loop thread before the client has proven anything, and
   * holds up to 17 KiB; 1,024 bounds that to about a third of a core-second and 17 MiB while
   * leaving room for a large reconnect burst.
   */
  public static final int DEFAULT_MAX_CONCURRENT_HANDSHAKES = 1024;

  public static Builder newBuilder() {
    return new Builder();
  }

  public AltsLikeIdentity identity() {
    return identity;
  }

  public List<RecordProtocol> recordProtocols() {
    return recordProtocols;
  }

  /** Identity types this policy can accept from the peer; others fail at decode time. */
  Messages.IdentityTypes acceptedIdentityTypes() {
    return acceptedIdentityTypes;
  }

  /**
   * Largest ServerInit or ClientFinished accepted: room for a certificate chain only if
   * certificate peers can be accepted at all.
   */
  int maxPeerIdentityMessageBytes() {
    return trustAnchors != null ? Messages.MAX_IDENTITY_MESSAGE_BYTES : Messages.MAX_MESSAGE_BYTES;
  }

  GcmProvider provider() {
    return provider != null ? provider : GcmProvider.active();
  }

  boolean accepts(AltsLikePeer peer, @Nullable String authority) {
    return peerVerifier.test(peer, authority);
  }

  /** Which peer policy a builder was given; at most one. */
  private enum Policy {
    NONE("none"),
    ACCEPT_PEERS("acceptPeers"),
    VERIFIER("peerVerifier"),
    ANY("acceptAnyPeer"),
    ANY_UNAUTHENTICATED("acceptAnyServerUnauthenticated");

    final String method;

    Policy(String method) {
      this.method = method;
    }
  }

  /** Builder; see the credentials builders for what each option means. Not thread-safe. */
  public static final class Builder {
    @Nullable private AltsLikeIdentity identity;
    @Nullable private BiPredicate<AltsLikePeer, String> peerVerifier;
    private boolean verifierCoversCertificates;
    private String peerPolicy = "";
    private Policy policy = Policy.NONE;
    /** Raw keys accepted for any target (acceptPeers). */
    private final Set<String> anyTargetIds = new LinkedHashSet<>();
    /** Raw keys accepted only for one target host (acceptPeersFor), by lower-case host. */
    private final Map<String, Set<String>> idsByHost = new LinkedHashMap<>();
    private boolean serverNameCheck = true;
    @Nullable private String expectedServerName;
    @Nullable private Set<TrustAnchor> trustAnchors;
    @Nullable private Date validationDate;
    /**
     * Only the rekeying protocol by default: the plain one keeps one AES-GCM key for up to 2^40
     * records, far past RFC 8446 §5.5's limit of 2^24.5 records per key, so it must be chosen
     * explicitly (for peers that speak nothing else).
     */
    private List<RecordProtocol> recordProtocols = List.of(RecordProtocol.AES_128_GCM_REKEY);
    private RpcProtocolVersion rpcMin = RpcProtocolVersion.DEFAULT;
    private RpcProtocolVersion rpcMax = RpcProtocolVersion.DEFAULT;
    private int recordBytes = AltsRecordProtector.DEFAULT_RECORD_BYTES;
    private int maxInboundRecordBytes = AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES;
    @Nullable private GcmProvider provider;
    private int maxConcurrentHandshakes = DEFAULT_MAX_CONCURRENT_HANDSHAKES;
    private int minVersion = Messages.VERSION_1;
    private int maxVersion = Messages.VERSION_2;

    private Builder() {}

    public Builder identity(AltsLikeIdentity identity) {
      this.identity = Objects.requireNonNull(identity, "identity");
      return this;
    }

    /** Raw Ed25519 keys accepted for any target; see the credentials builders. */
    public Builder acceptPeers(Collection<PublicKey> publicKeys) {
      setPolicy(Policy.ACCEPT_PEERS);
      anyTargetIds.addAll(ids(publicKeys));
      return keyPolicy();
    }

    /**
     * Client only: raw Ed25519 keys accepted only when the target authority's host is {@code
     * host} (case-insensitive); may be called once per host, and combined with {@link
     * #acceptPeers}.
     */
    public Builder acceptPeersFor(String host, Collection<PublicKey> publicKeys) {
      String key = Objects.requireNonNull(host, "host").toLowerCase(Locale.ROOT);
      if (key.isEmpty()) {
        throw new IllegalArgumentException("empty host");
      }
      setPolicy(Policy.ACCEPT_PEERS);
      idsByHost.computeIfAbsent(key, k -> new LinkedHashSet<>()).addAll(ids(publicKeys));
      return keyPolicy();
    }

    private static Set<String> ids(Collection<PublicKey> publicKeys) {
      Set<String> ids = new LinkedHashSet<>();
      for (PublicKey key : publicKeys) {
        try {
          ids.add(Ed25519Keys.id(Ed25519Keys.rawPublicKey(key)));
        } catch (GeneralSecurityException e) {
          throw new IllegalArgumentException("accepted peer keys must be Ed25519", e);
        }
      }
      if (ids.isEmpty()) {
        throw new IllegalArgumentException("no accepted peer keys given");
      }
      return ids;
    }

    /** (Re)builds the raw-key predicate from both key sets, frozen. */
    private Builder keyPolicy() {
      Set<String> any = Set.copyOf(anyTargetIds);
      Map<String, Set<String>> byHost = new LinkedHashMap<>();
      idsByHost.forEach((host, ids) -> byHost.put(host, Set.copyOf(ids)));
      Map<String, Set<String>> frozen = Collections.unmodifiableMap(byHost);
      this.peerVerifier = (peer, authority) -> any.contains(peer.id())
          || (authority != null && frozen.getOrDefault(
              X509PeerChecks.hostOf(authority).toLowerCase(Locale.ROOT), Set.of())
              .contains(peer.id()));
      this.verifierCoversCertificates = false;
      int count = any.size();
      for (Set<String> ids : frozen.values()) {
        count += ids.size();
      }
      this.peerPolicy = frozen.isEmpty() && any.size() == 1
          ? "the accepted identity " + any.iterator().next()
          : "the " + count + " accepted identities" + (frozen.isEmpty() ? ""
              : ", " + (count - any.size()) + " of them only for hosts " + frozen.keySet());
      return this;
    }

    /** A predicate over the peer alone. */
    public Builder peerVerifier(Predicate<AltsLikePeer> verifier) {
      Objects.requireNonNull(verifier, "verifier");
      return peerVerifier((peer, authority) -> verifier.test(peer));
    }

    /**
     * A predicate over the peer and the target authority (client side; null on the server side).
     */
    public Builder peerVerifier(BiPredicate<AltsLikePeer, String> verifier) {
      Objects.requireNonNull(verifier, "verifier");
      setPolicy(Policy.VERIFIER);
      this.peerVerifier = verifier;
      this.verifierCoversCertificates = true;
      this.peerPolicy = "the peer verifier";
      return this;
    }

    /** Any peer. */
    public Builder acceptAnyPeer() {
      setPolicy(Policy.ANY);
      this.peerVerifier = (peer, authority) -> true;
      this.verifierCoversCertificates = true;
      this.peerPolicy = "any peer";
      return this;
    }

    /**
     * Client only: any server, unauthenticated (an active attacker can stand in for it);
     * connections report {@code SecurityLevel.NONE}.
     */
    public Builder acceptAnyServerUnauthenticated() {
      setPolicy(Policy.ANY_UNAUTHENTICATED);
      this.peerVerifier = (peer, authority) -> true;
      this.verifierCoversCertificates = true;
      this.peerPolicy = "any server, unauthenticated";
      return this;
    }

    /** At most one peer policy; acceptPeers and acceptPeersFor add up. */
    private void setPolicy(Policy next) {
      if (policy != Policy.NONE && policy != next) {
        throw new IllegalStateException(policy.method + " and " + next.method
            + " are mutually exclusive: choose one peer policy");
      }
      if (policy == next && next != Policy.ACCEPT_PEERS) {
        throw new IllegalStateException(next.method + " was already called");
      }
      policy = next;
    }

    /**
     * Client only: server certificates must name {@code name} (RFC 6125 rules) instead of the
     * host of the channel's authority.
     */
    public Builder expectedServerName(String name) {
      if (!serverNameCheck) {
        throw new IllegalStateException(
            "expectedServerName and disableServerNameCheck are mutually exclusive");
      }
      this.expectedServerName = X509PeerChecks.hostOf(Objects.requireNonNull(name, "name"));
      return this;
    }

    /**
     * Client only: server certificates are not matched against any name; requires a
     * {@link #peerVerifier} (which sees the authority) to bind the server to the target.
     */
    public Builder disableServerNameCheck() {
      if (expectedServerName != null) {
        throw new IllegalStateException(
            "expectedServerName and disableServerNameCheck are mutually exclusive");
      }
      this.serverNameCheck = false;
      return this;
    }

    /** Accepts certificate peers whose chain validates (PKIX, no revocation) to these roots. */
    public Builder trustCertificates(Collection<X509Certificate> roots) {
      this.trustAnchors = X509Identities.anchors(roots);
      return this;
    }

    /** For tests: validate peer certificates as of {@code date} instead of now. */
    Builder certificateValidationDate(@Nullable Date date) {
      this.validationDate = date;
      return this;
    }

    public Builder recordProtocols(RecordProtocol... protocols) {
      if (protocols.length == 0) {
        throw new IllegalArgumentException("at least one record protocol is needed");
      }
      this.recordProtocols = List.copyOf(new LinkedHashSet<>(Arrays.asList(protocols)));
      return this;
    }

    public Builder rpcProtocolVersions(RpcProtocolVersion min, RpcProtocolVersion max) {
      if (min.compareTo(max) > 0) {
        throw new IllegalArgumentException("RPC protocol version range [" + min + ", " + max
            + "] is empty");
      }
      this.rpcMin = min;
      this.rpcMax = max;
      return this;
    }

    public Builder recordBytes(int recordBytes) {
      this.recordBytes = checkRecordBytes("recordBytes", recordBytes);
      return this;
    }

    public Builder maxInboundRecordBytes(int maxInboundRecordBytes) {
      this.maxInboundRecordBytes =
          checkRecordBytes("maxInboundRecordBytes", maxInboundRecordBytes);
      return this;
    }

    /**
     * Handshake versions to speak (default [1, 2]: version 2 with peers that speak it, else 1);
     * for tests that look at one version's wire format.
     */
    Builder handshakeVersions(int min, int max) {
      if (min < Messages.VERSION_1 || max > Messages.VERSION_2 || min > max) {
        throw new IllegalArgumentException("handshake versions [" + min + ", " + max + "]");
      }
      this.minVersion = min;
      this.maxVersion = max;
      return this;
    }

    /**
     * Lowest handshake version to speak: 1 (the default) also serves version 1 peers, whose
     * identities travel in clear; 2 refuses them.
     */
    public Builder minHandshakeVersion(int min) {
      if (min < Messages.VERSION_1 || min > Messages.VERSION_2) {
        throw new IllegalArgumentException("handshake versions are 1 and 2, not " + min);
      }
      return handshakeVersions(min, Messages.VERSION_2);
    }

    /** Server only: most handshakes in progress at once; a connection beyond it is closed. */
    public Builder maxConcurrentHandshakes(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("maxConcurrentHandshakes must be at least 1, not "
            + max);
      }
      this.maxConcurrentHandshakes = max;
      return this;
    }

    public Builder provider(@Nullable GcmProvider provider) {
      if (provider != null && !provider.available()) {
        throw new IllegalArgumentException(provider.description() + " is not available");
      }
      this.provider = provider;
      return this;
    }

    /**
     * @throws IllegalStateException if the identity or the peer policy is missing: there is no
     *     default for either, so a forgotten option fails here rather than accepting anyone
     */
    public HandshakeOptions build() {
      if (identity == null) {
        throw new IllegalStateException(
            "an identity (Ed25519 key pair or certificate) is required");
      }
      if (peerVerifier == null && trustAnchors == null) {
        throw new IllegalStateException("no peer policy: call acceptPeers, peerVerifier,"
            + " acceptAnyPeer or trustCertificates");
      }
      if (!serverNameCheck && policy != Policy.VERIFIER) {
        throw new IllegalStateException("disableServerNameCheck needs a peerVerifier to bind"
            + " server certificates to the target in its place");
      }
      return new HandshakeOptions(this);
    }

    private static int checkRecordBytes(String name, int value) {
      if (value < AltsRecordProtector.MIN_RECORD_BYTES
          || value > AltsRecordProtector.MAX_RECORD_BYTES) {
        throw new IllegalArgumentException(name + " must be in ["
            + AltsRecordProtector.MIN_RECORD_BYTES + ", " + AltsRecordProtector.MAX_RECORD_BYTES
            + "], not " + value);
      }
      return value;
    }
  }
}
