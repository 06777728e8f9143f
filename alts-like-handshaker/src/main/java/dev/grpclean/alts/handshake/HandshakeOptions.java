package dev.grpclean.alts.handshake;

import dev.grpclean.alts.AltsLikeIdentity;
import dev.grpclean.alts.AltsLikePeer;
import dev.grpclean.alts.Ed25519Keys;
import dev.grpclean.alts.RpcProtocolVersion;
import dev.grpclean.alts.record.AltsRecordProtector;
import dev.grpclean.alts.record.GcmProvider;
import dev.grpclean.alts.record.RecordProtocol;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
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
  final Predicate<AltsLikePeer> peerVerifier;
  final String peerPolicy;
  final List<RecordProtocol> recordProtocols;
  final RpcProtocolVersion rpcMin;
  final RpcProtocolVersion rpcMax;
  final int recordBytes;
  final int maxInboundRecordBytes;
  @Nullable final GcmProvider provider;

  private HandshakeOptions(Builder b) {
    this.identity = b.identity;
    this.peerVerifier = b.peerVerifier;
    this.peerPolicy = b.peerPolicy;
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
    private String peerPolicy = "";
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
      this.peerPolicy = frozen.size() == 1
          ? "the accepted identity " + frozen.iterator().next()
          : "the " + frozen.size() + " accepted identities";
      return this;
    }

    public Builder peerVerifier(Predicate<AltsLikePeer> verifier) {
      this.peerVerifier = Objects.requireNonNull(verifier, "verifier");
      this.peerPolicy = "the peer verifier";
      return this;
    }

    public Builder acceptAnyPeer() {
      this.peerVerifier = peer -> true;
      this.peerPolicy = "any peer";
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
        throw new IllegalStateException("an identity (Ed25519 key pair) is required");
      }
      if (peerVerifier == null) {
        throw new IllegalStateException("no peer policy: call acceptPeers, peerVerifier or"
            + " acceptAnyPeer");
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
