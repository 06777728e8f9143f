package dev.grpclean.alts.handshake;

import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.AltsLikePeer;
import dev.grpclean.alts.Ed25519Keys;
import dev.grpclean.alts.RpcProtocolVersion;
import dev.grpclean.alts.X509Identities;
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
  /** Null if only certificate peers are accepted. */
  @Nullable final Predicate<AltsLikePeer> peerVerifier;
  /** False for acceptPeers (a list of raw keys), which judges raw-key peers only. */
  final boolean verifierCoversCertificates;
  final String peerPolicy;
  /** Null if certificate peers are not accepted. */
  @Nullable final Set<TrustAnchor> trustAnchors;
  /** For tests: validate certificates at this time instead of now. */
  @Nullable final Date validationDate;
  final List<RecordProtocol> recordProtocols;
  final RpcProtocolVersion rpcMin;
  final RpcProtocolVersion rpcMax;
  final int recordBytes;
  final int maxInboundRecordBytes;
  @Nullable final GcmProvider provider;

  private HandshakeOptions(Builder b) {
    this.identity = b.identity;
    this.peerVerifier = b.peerVerifier;
    this.verifierCoversCertificates = b.verifierCoversCertificates;
    this.peerPolicy = b.peerPolicy;
    this.trustAnchors = b.trustAnchors;
    this.validationDate = b.validationDate;
    this.recordProtocols = Collections.unmodifiableList(new ArrayList<>(b.recordProtocols));
    this.rpcMin = b.rpcMin;
    this.rpcMax = b.rpcMax;
    this.recordBytes = b.recordBytes;
    this.maxInboundRecordBytes = b.maxInboundRecordBytes;
    this.provider = b.provider;
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  public AltsLikeIdentity identity() {
    return identity;
  }

  public List<RecordProtocol> recordProtocols() {
    return recordProtocols;
  }

  GcmProvider provider() {
    return provider != null ? provider : GcmProvider.active();
  }

  boolean accepts(AltsLikePeer peer) {
    return peerVerifier.test(peer);
  }

  /** Builder; see the credentials builders for what each option means. Not thread-safe. */
  public static final class Builder {
    @Nullable private AltsLikeIdentity identity;
    @Nullable private Predicate<AltsLikePeer> peerVerifier;
    private boolean verifierCoversCertificates;
    private String peerPolicy = "";
    @Nullable private Set<TrustAnchor> trustAnchors;
    @Nullable private Date validationDate;
    private List<RecordProtocol> recordProtocols =
        List.of(RecordProtocol.AES_128_GCM_REKEY, RecordProtocol.AES_128_GCM);
    private RpcProtocolVersion rpcMin = RpcProtocolVersion.DEFAULT;
    private RpcProtocolVersion rpcMax = RpcProtocolVersion.DEFAULT;
    private int recordBytes = AltsRecordProtector.DEFAULT_RECORD_BYTES;
    private int maxInboundRecordBytes = AltsRecordProtector.DEFAULT_MAX_INBOUND_RECORD_BYTES;
    @Nullable private GcmProvider provider;

    private Builder() {}

    public Builder identity(AltsLikeIdentity identity) {
      this.identity = Objects.requireNonNull(identity, "identity");
      return this;
    }

    public Builder acceptPeers(Collection<PublicKey> publicKeys) {
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
      Set<String> frozen = Collections.unmodifiableSet(ids);
      this.peerVerifier = peer -> frozen.contains(peer.id());
      this.verifierCoversCertificates = false;
      this.peerPolicy = frozen.size() == 1
          ? "the accepted identity " + frozen.iterator().next()
          : "the " + frozen.size() + " accepted identities";
      return this;
    }

    public Builder peerVerifier(Predicate<AltsLikePeer> verifier) {
      this.peerVerifier = Objects.requireNonNull(verifier, "verifier");
      this.verifierCoversCertificates = true;
      this.peerPolicy = "the peer verifier";
      return this;
    }

    public Builder acceptAnyPeer() {
      this.peerVerifier = peer -> true;
      this.verifierCoversCertificates = true;
      this.peerPolicy = "any peer";
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
      return new HandshakeOptions(this);
    }

    private static int checkRecordBytes(String name, int value) {
      if (value < AltsRecordProtector.DEFAULT_RECORD_BYTES
          || value > AltsRecordProtector.MAX_RECORD_BYTES) {
        throw new IllegalArgumentException(name + " must be in ["
            + AltsRecordProtector.DEFAULT_RECORD_BYTES + ", " + AltsRecordProtector.MAX_RECORD_BYTES
            + "], not " + value);
      }
      return value;
    }
  }
}
